-- wrk script for benches/writes.sh: every request is a RefreshObjectCaches of a new URL
-- (one row), in a form body like the Tea SDK sends.
local counter = 0
local thread_tag = tostring(math.random(1, 1000000000))

request = function()
  counter = counter + 1
  local body = "Action=RefreshObjectCaches&Format=JSON&ObjectPath=http%3A%2F%2Fstatic.example.com%2Fbench%2F"
    .. thread_tag .. "%2F" .. counter .. ".txt"
  return wrk.format("POST", "/", { ["Content-Type"] = "application/x-www-form-urlencoded" }, body)
end

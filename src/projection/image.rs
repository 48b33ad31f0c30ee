//! The projection's image for snapshots: every field but the two lookup tables (TaskId and
//! path → newest row), which are rebuilt from the rows when the image is read back — they are
//! hash maps, and a rebuild costs what decoding them would.

use bincode::de::Decoder;
use bincode::enc::Encoder;
use bincode::error::{DecodeError, EncodeError};
use bincode::{Decode, Encode};

use super::{KeyMap, PathMap, Projection, Site, path_hash};

impl Encode for Projection {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        self.rows.encode(e)?;
        self.transitions.encode(e)?;
        self.paths.encode(e)?;
        self.domains.encode(e)?;
        self.domain_ids.encode(e)?;
        self.sites.encode(e)?;
        self.next_in_task.encode(e)?;
        self.next_same_path.encode(e)?;
        self.all.encode(e)?;
        self.by_type.encode(e)?;
        self.by_domain.encode(e)?;
        self.by_domain_type.encode(e)?;
        self.last_ms.encode(e)?;
        self.events.encode(e)?;
        self.unfinished_from.encode(e)?;
        self.max_span_ms.encode(e)?;
        self.frozen_rows.encode(e)?;
        self.api_rows.encode(e)
    }
}

impl<Context> Decode<Context> for Projection {
    fn decode<D: Decoder<Context = Context>>(d: &mut D) -> Result<Projection, DecodeError> {
        let mut p = Projection {
            rows: Decode::decode(d)?,
            transitions: Decode::decode(d)?,
            paths: Decode::decode(d)?,
            domains: Decode::decode(d)?,
            domain_ids: Decode::decode(d)?,
            sites: Decode::decode(d)?,
            domain_sites: Vec::new(),
            by_task: KeyMap::default(),
            next_in_task: Decode::decode(d)?,
            by_path: PathMap::default(),
            next_same_path: Decode::decode(d)?,
            all: Decode::decode(d)?,
            by_type: Decode::decode(d)?,
            by_domain: Decode::decode(d)?,
            by_domain_type: Decode::decode(d)?,
            last_ms: Decode::decode(d)?,
            events: Decode::decode(d)?,
            unfinished_from: Decode::decode(d)?,
            max_span_ms: Decode::decode(d)?,
            frozen_rows: Decode::decode(d)?,
            api_rows: Decode::decode(d)?,
        };
        p.domain_sites = site_index(p.domains.len(), &p.sites).ok_or_else(|| {
            DecodeError::OtherString("the site table disagrees with the domains".into())
        })?;
        p.check_image().map_err(DecodeError::OtherString)?;
        p.by_task.reserve(p.rows.len());
        // One buffer for every row's path: a million of them are hashed here.
        let mut path = String::new();
        for (index, info) in p.rows.iter().enumerate() {
            // Rows in order: the newest row of a key is the last inserted.
            p.by_task.insert(info.task_id, index as u32);
            path.clear();
            path.extend(p.path_parts(info));
            p.by_path.insert(path_hash(&path), index as u32);
        }
        Ok(p)
    }
}

bincode::impl_borrow_decode!(Projection);

/// Per domain, its site of each scheme (`u16::MAX` for none), as `Projection::site` builds it;
/// `None` when `sites` is over its bound, names a domain that does not exist, or names one
/// domain and scheme twice.
fn site_index(domains: usize, sites: &[Site]) -> Option<Vec<[u16; 3]>> {
    if sites.len() >= usize::from(u16::MAX) {
        return None;
    }
    let mut index = vec![[u16::MAX; 3]; domains];
    for (id, site) in sites.iter().enumerate() {
        let slot = &mut index.get_mut(usize::from(site.domain))?[site.scheme as usize];
        if *slot != u16::MAX {
            return None;
        }
        *slot = id as u16;
    }
    Some(index)
}

impl Projection {
    /// What indexing relies on, checked before an image is used: an image that passed its
    /// checksum but disagrees with itself is refused instead of panicking later.
    fn check_image(&self) -> Result<(), String> {
        let rows = self.rows.len();
        let per_row = [
            ("next_in_task", self.next_in_task.len()),
            ("next_same_path", self.next_same_path.len()),
            ("all", self.all.rows.len()),
        ];
        for (what, len) in per_row {
            if len != rows {
                return Err(format!("{what} has {len} entries for {rows} rows"));
            }
        }
        if self.by_domain.len() != self.domains.len()
            || self.by_domain_type.len() != self.domains.len()
            || self.domain_ids.len() != self.domains.len()
        {
            return Err("the domain tables disagree".into());
        }
        let transitions = self.transitions.len();
        for info in &self.rows {
            let start = info.path_start as usize;
            let end = start + usize::from(info.path_len);
            if self.paths.get(start..end).is_none()
                || usize::from(info.site) >= self.sites.len()
                || (info.last != super::NONE && info.last as usize >= transitions)
            {
                return Err("a row points outside the tables".into());
            }
        }
        let index_ok = |i: u32, len: usize| i == super::NONE || (i as usize) < len;
        let links_ok = self
            .transitions
            .iter()
            .all(|t| index_ok(t.prev, transitions))
            && self.next_in_task.iter().all(|&i| index_ok(i, rows))
            && self.next_same_path.iter().all(|&i| index_ok(i, rows));
        let groups = std::iter::once(&self.all)
            .chain(self.by_type.0.iter())
            .chain(self.by_domain.iter())
            .chain(self.by_domain_type.iter().flat_map(|t| t.0.iter()));
        let mut grouped = groups.flat_map(|g| g.rows.iter());
        if !links_ok || grouped.any(|&i| i as usize >= rows) {
            return Err("a link points outside the tables".into());
        }
        Ok(())
    }
}

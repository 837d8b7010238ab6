//! `images`, `rmi`, `history`: the image store as docker shows it.

use super::out::{each, human_duration, human_size, line_to, out};
use crate::engine::state::Root;
use crate::engine::store;
use crate::engine::util::{Buf, Res};
use crate::sys;
use alloc::vec::Vec;

/// "X ago" of a time, or "N/A" without one.
fn ago(b: &mut Buf, now: i64, t: i64) {
    if t <= 0 {
        b.s("N/A");
    } else {
        human_duration(&mut b.0, now - t);
        b.s(" ago");
    }
}

/// (created, id, repository, tag, size)
type Row<'a> = (i64, &'a [u8], &'a [u8], &'a [u8], u64);

/// `images [-q]`: a row per tag, and one per untagged image, newest first.
#[inline]
pub fn images(root: &Root, quiet: bool) -> Res<()> {
    // dead loads', imports' and commits' temporaries go first
    if sys::lstat(&store::layers_dir(root)).is_ok() {
        if let Ok(_l) = root.lock() {
            store::reclaim(root);
        }
    }
    let tags = store::tags(root);
    let mut rows: Vec<Row> = Vec::new();
    let ids = store::ids(root);
    for id in &ids {
        let m = store::meta(root, id);
        let Ok(m) = &m else { continue };
        let size = store::size(root, &m.layers);
        let mut any = false;
        for (t, i) in &tags {
            if i == id {
                let (r, tg) = store::split_ref(t);
                rows.push((m.created, id, r, tg, size));
                any = true;
            }
        }
        if !any {
            rows.push((m.created, id, b"<none>", b"<none>", size));
        }
    }
    // read in sorted order through the indices: no copy of sort_by's
    // permutation for 64-byte rows
    let ix = crate::engine::util::sorted_order(rows.len(), &|i, j| {
        let (a, b) = (&rows[i], &rows[j]);
        a.0 > b.0 || a.0 == b.0 && (a.2, a.3) < (b.2, b.3)
    });
    let mut b = Buf::new();
    if quiet {
        let mut seen: Vec<&[u8]> = Vec::new();
        for &i in &ix {
            let r = &rows[i];
            if !seen.contains(&r.1) {
                seen.push(r.1);
                b.b(&r.1[..12]).s("\n");
            }
        }
        out(&b.0);
        return Ok(());
    }
    let (mut w1, mut w2) = (10, 3);
    for r in &rows {
        w1 = w1.max(r.2.len());
        w2 = w2.max(r.3.len());
    }
    w1 += 3;
    w2 += w1 + 3;
    let (w3, w4) = (w2 + 15, w2 + 15 + 18);
    // past TAG the columns are fixed (w3 = w2 + 15, w4 = w3 + 18): a literal
    b.s("REPOSITORY").col(w1, 3).s("TAG").col(w2, 3);
    crate::engine::util::push_msg(&mut b.0, m!("IMAGE ID       CREATED           SIZE\n"));
    let now = sys::now().0;
    for &i in &ix {
        let r = &rows[i];
        b.b(r.2).col(w1, 3).b(r.3).col(w2, 3).b(&r.1[..12]).col(w3, 3);
        ago(&mut b, now, r.0);
        human_size(&mut b.col(w4, 3).0, r.4);
        b.s("\n");
    }
    out(&b.0);
    Ok(())
}

/// `rmi IMAGE...`: docker's "Untagged:" and "Deleted:" lines.
pub fn rmi(root: &Root, names: &[&[u8]]) -> i32 {
    crate::engine::container::reap_dead(root);
    each(names, false, &mut |n| store::remove(root, n, &mut |what, x| line_to(1, what, x)))
}

/// `history IMAGE`: the configuration's history, newest first; a step
/// that made a layer shows that layer's size.
pub fn history(root: &Root, name: &[u8], no_trunc: bool, quiet: bool) -> Res<()> {
    use crate::engine::json;
    let (id, _) = store::resolve(root, name)?;
    let img = store::image(root, &id);
    let (m, conf) = img.as_ref().map_err(|e| *e)?;
    let c = json::parse(conf);
    let hist = c.and_then(|c| c.get(b"history")).unwrap_or(json::J::NULL);
    // (step, size), oldest first
    let mut rows = Vec::new();
    let mut layer = 0;
    for h in hist.items() {
        let empty = h.get(crate::engine::util::msg_text(m!("empty_layer"))).is_some_and(|v| v.raw() == b"true");
        let size = if empty {
            0
        } else {
            layer += 1;
            m.layers.get(layer - 1).map_or(0, |l| store::layer_size(root, l).1)
        };
        rows.push((h, size));
    }
    let mut b = Buf::new();
    if !quiet {
        // the header padded as the rows are (cols 15, 33, 82, 94): a literal
        crate::engine::util::push_msg(&mut b.0, m!("IMAGE          CREATED           CREATED BY                                       SIZE        COMMENT\n"));
    }
    let now = sys::now().0;
    for (i, &(h, size)) in rows.iter().rev().enumerate() {
        b.b(if i == 0 { &id[..12] } else { crate::engine::util::msg_text(m!("<missing>")) });
        if quiet {
            b.s("\n");
            continue;
        }
        let s = |k: &[u8]| h.str_at(k);
        b.col(15, 3);
        ago(&mut b, now, store::parse_time(&s(b"created")));
        b.col(33, 3);
        let by = s(crate::engine::util::msg_text(m!("created_by")));
        if !no_trunc && by.len() > 45 {
            b.b(&by[..44]).s("…");
        } else {
            b.b(&by);
        }
        human_size(&mut b.col(82, 3).0, size);
        b.col(94, 3).b(&s(b"comment")).s("\n");
    }
    out(&b.0);
    Ok(())
}

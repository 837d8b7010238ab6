//! `images` and `rmi`.

use super::out::{each, human_duration, human_size, out};
use crate::engine::image;
use crate::engine::state::Root;
use crate::engine::util::{Buf, Res};
use crate::sys;

#[inline(never)]
pub fn images(root: &Root, quiet: bool) -> Res<()> {
    let names = image::list(root);
    let now = sys::now().0;
    let mut b = Buf::new();
    if !quiet {
        // The header padded as the rows are (col 24, 44): a literal.
        b.s("IMAGE                   CREATED             SIZE\n");
    }
    for n in names {
        if quiet {
            b.b(&n).s("\n");
            continue;
        }
        let m = image::read_meta(&root.image(&n));
        b.b(&n).col(24, 3).b(&human_duration(now - m.created)).s(" ago").col(44, 3).b(&human_size(m.size)).s("\n");
    }
    out(&b.0);
    Ok(())
}

/// Removes images not used by any container; prints each name removed.
#[inline(never)]
pub fn rmi(root: &Root, names: &[&[u8]]) -> i32 {
    crate::engine::container::reap_dead(root);
    each(names, true, &mut |n| image::remove(root, n))
}

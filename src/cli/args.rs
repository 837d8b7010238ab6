//! The option-table parser shared by the front ends: long and short
//! spellings, clusters, inline values, aliases, `--`.

use super::Args;
use crate::engine::util::{Error, Msg, Res};
use alloc::vec::Vec;

/// An option as the tables are written; they are stored packed (`table`).
#[derive(Clone, Copy)]
pub struct Opt {
    pub id: u8,
    pub short: u8,
    pub val: bool,
    /// The long name, then after a space the book's single-dash spelling
    /// if any: "memory -mem".
    pub names: &'static str,
}

pub const fn o(id: u8, names: &'static str, short: u8, val: bool) -> Opt {
    Opt { id, short, val, names }
}

/// The packed length of a table (see `table`).
pub const fn tlen(e: &[Opt]) -> usize {
    glen(&[e])
}

/// A table packed at build time into bytes: per option its id (+128 if
/// it takes a value), short letter, its names, a comma. (24 bytes an entry
/// less than an array of `Opt`: over 1 KB for all the tables.)
pub const fn table<const N: usize>(e: &[Opt]) -> [u8; N] {
    gtable(&[e])
}

/// The packed length of tables `g` end to end.
pub const fn glen(g: &[&[Opt]]) -> usize {
    let (mut n, mut i) = (0, 0);
    while i < g.len() {
        let mut j = 0;
        while j < g[i].len() {
            n += 3 + g[i][j].names.len();
            j += 1;
        }
        i += 1;
    }
    n
}

/// Tables `g` packed end to end (as `table`): each is a packed table of
/// its own from `goffs(g)[i]` to `goffs(g)[i + 1]`, two bytes a table
/// where a slice of its own took sixteen.
pub const fn gtable<const N: usize>(g: &[&[Opt]]) -> [u8; N] {
    let mut t = [0u8; N];
    let (mut i, mut k) = (0, 0);
    while i < g.len() {
        let mut j = 0;
        while j < g[i].len() {
            let o = &g[i][j];
            t[k] = o.id | (o.val as u8) << 7;
            t[k + 1] = o.short;
            k += 2;
            let n = o.names.as_bytes();
            let mut c = 0;
            while c < n.len() {
                t[k] = n[c];
                k += 1;
                c += 1;
            }
            t[k] = b',';
            k += 1;
            j += 1;
        }
        i += 1;
    }
    t
}

/// Where each of tables `g` starts in `gtable(g)`, and its end last.
pub const fn goffs<const M: usize>(g: &[&[Opt]]) -> [u16; M] {
    let mut o = [0u16; M];
    let mut i = 0;
    while i < g.len() {
        o[i + 1] = o[i] + glen(&[g[i]]) as u16;
        i += 1;
    }
    o
}

/// A packed table, from a list of `o(..)`.
macro_rules! opts {
    ($($e:expr),* $(,)?) => {{
        const E: &[$crate::cli::args::Opt] = &[$($e),*];
        const T: [u8; $crate::cli::args::tlen(E)] = $crate::cli::args::table(E);
        &T
    }};
}
pub(crate) use opts;

/// What `find` matches: the long name, the alias, the short letter.
pub const BY_LONG: u8 = 0;
pub const BY_ALIAS: u8 = 1;
pub const BY_SHORT: u8 = 2;

/// The (id, takes a value) of the entry of packed `table` that
/// `key` names, matched as `by` says (a letter: `key[0]`).
#[inline(never)]
pub fn find(table: &[u8], by: u8, key: &[u8]) -> Option<(u8, bool)> {
    let mut i = 0;
    while i + 2 < table.len() {
        let (id, short, val) = (table[i] & 0x7f, table[i + 1], table[i] >= 0x80);
        // the names end at the comma; a space (never first) starts the alias
        let (mut e, mut sp) = (i + 2, 0);
        while table[e] != b',' {
            if table[e] == b' ' {
                sp = e;
            }
            e += 1;
        }
        let hit = match by {
            BY_LONG => table[i + 2..if sp > 0 { sp } else { e }] == *key,
            BY_ALIAS => sp > 0 && table[sp + 1..e] == *key,
            _ => short == key[0],
        };
        i = e + 1;
        if hit {
            return Some((id, val));
        }
    }
    None
}

pub const HELP: u8 = 0;

/// Parses options per `table`. With `stop`, the first positional ends
/// parsing and it and everything after it are returned as positionals;
/// without, positionals and options may interleave (as in `rm a -f b`).
/// Flags (HELP among them) become bits, valued options (id, value) pairs
/// in order; values and positionals borrow from `args` (owned copies cost
/// 2 KB of clone and drop code).
pub fn parse<'a>(args: &'a [Vec<u8>], table: &[u8], stop: bool, usage: u8) -> Res<Args<'a>> {
    let mut out = Args::default();
    let pos = &mut out.pos;
    let mut i = 0;
    let bad = |flag: &[u8], why: Msg| -> Error { at_usage(flag, why, usage) };
    while i < args.len() {
        let a = args[i].as_slice();
        i += 1;
        let k = crate::engine::util::word_index(b"--,--help", a);
        if k == Some(0) {
            rest(pos, &args[i..]);
            break;
        }
        if a.len() < 2 || a[0] != b'-' {
            pos.push(a);
            if stop {
                rest(pos, &args[i..]);
                break;
            }
            continue;
        }
        if k == Some(1) {
            out.flags |= 1 << HELP;
            continue;
        }
        // `--long[=v]`, or the book's single-dash long aliases ("-mem 100m", "-name=x").
        let long = a.starts_with(b"--");
        let body = if long { &a[2..] } else { a };
        let (name, inline) = match body.iter().position(|&c| c == b'=') {
            Some(p) => (&body[..p], Some(&body[p + 1..])),
            None => (body, None),
        };
        if let Some((id, val)) = find(table, if long { BY_LONG } else { BY_ALIAS }, name) {
            if val {
                let v: &[u8] = match inline {
                    Some(v) => v,
                    None => {
                        i += 1;
                        args.get(i - 1).ok_or_else(|| bad(a, m!("flag needs an argument")))?
                    }
                };
                push(&mut out.vals, id, v);
                continue;
            }
            // "=true", "=false" (none: true; an alias ignores "=...")
            match inline.map(|v| crate::engine::util::word_index(b"true,false", v)) {
                None | Some(Some(0)) => {}
                _ if !long => {}
                Some(Some(_)) => continue,
                Some(None) => return Err(bad(a, m!("flag takes no value"))),
            }
            out.flags |= 1 << id;
            continue;
        }
        if long {
            return Err(bad(a, m!("unknown flag")));
        }
        // A cluster of short flags; a value-taking one eats the rest.
        let mut j = 1;
        while j < a.len() {
            let c = a[j];
            j += 1;
            let Some((id, val)) = find(table, BY_SHORT, &[c]) else {
                if c == b'h' {
                    out.flags |= 1 << HELP;
                    continue;
                }
                return Err(bad(&[b'-', c], m!("unknown shorthand flag")));
            };
            if val {
                let mut v = &a[j..];
                if v.first() == Some(&b'=') {
                    v = &v[1..];
                }
                if v.is_empty() {
                    if i >= args.len() {
                        // `run -h` with nothing after it asks for help.
                        if c == b'h' {
                            out.flags |= 1 << HELP;
                            break;
                        }
                        return Err(bad(&[b'-', c], m!("flag needs an argument")));
                    }
                    v = &args[i];
                    i += 1;
                }
                push(&mut out.vals, id, v);
                break;
            }
            out.flags |= 1 << id;
        }
    }
    Ok(out)
}

/// `vals.push((id, v))` out of line: one call instead of two inlined
/// pair-building pushes.
#[inline(never)]
fn push<'a>(vals: &mut Vec<(u8, &'a [u8])>, id: u8, v: &'a [u8]) {
    vals.push((id, v));
}

/// Every argument from here on is a positional.
fn rest<'a>(pos: &mut Vec<&'a [u8]>, args: &'a [Vec<u8>]) {
    for x in args {
        pos.push(x);
    }
}

/// `what: why`, then the usage text: one call for the argument errors.
#[inline(never)]
pub fn at_usage(what: &[u8], why: Msg, usage: u8) -> Error {
    with_usage(Error::at(what, why), usage)
}

pub fn with_usage(e: Error, usage: u8) -> Error {
    e.more(m!("\n")).append(&usage_text(usage))
}

/// Help text number `id` (the ids of cli/usage.rs): the first texts of
/// the messages' blob (build.rs `msgs`), so its `Msg` ids.
pub fn usage_text(id: u8) -> Vec<u8> {
    let mut v = Vec::new();
    crate::engine::util::push_msg(&mut v, Msg(id as u16));
    v
}

#[cfg(test)]
mod tests {
    use super::super::usage;

    #[test]
    fn find_by_long_alias_short_and_id() {
        use super::{find, o, BY_ALIAS, BY_LONG, BY_SHORT};
        let t: &[u8] = opts![o(4, "memory -mem", b'm', true), o(5, "rm", 0, false), o(6, "name -name", 0, true)];
        assert_eq!(find(t, BY_LONG, b"memory"), Some((4, true)));
        assert_eq!(find(t, BY_LONG, b"rm"), Some((5, false)));
        assert_eq!(find(t, BY_LONG, b"name"), Some((6, true)));
        assert_eq!(find(t, BY_LONG, b"memory -mem"), None);
        assert_eq!(find(t, BY_LONG, b"-mem"), None);
        assert_eq!(find(t, BY_ALIAS, b"-mem"), Some((4, true)));
        assert_eq!(find(t, BY_ALIAS, b"-name"), Some((6, true)));
        assert_eq!(find(t, BY_ALIAS, b"memory"), None);
        assert_eq!(find(t, BY_ALIAS, b""), None);
        assert_eq!(find(t, BY_SHORT, b"m"), Some((4, true)));
        assert_eq!(find(t, BY_SHORT, b"x"), None);
    }

    #[test]
    fn help_texts_survive_compression() {
        for (id, text) in usage::ALL.iter().enumerate() {
            assert_eq!(super::usage_text(id as u8), text.as_bytes(), "text {id}");
        }
        assert!(super::usage_text(usage::RUN).starts_with(b"Usage: mydocker run "));
        assert!(super::usage_text(usage::MAIN).starts_with(b"Usage: mydocker [--root DIR] COMMAND"));
        // (the whole blob: help, messages, errno texts; under 40% of them)
        let mut all = Vec::new();
        crate::engine::util::unblob(&mut all);
        assert_eq!(all.len(), crate::MSGS_LEN);
        assert!(crate::engine::util::MSGS_GZ.len() * 10 < all.len() * 4);
    }
}

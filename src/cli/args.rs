//! The option-table parser shared by the front ends: long and short
//! spellings, clusters, inline values, aliases, `--`.

use crate::engine::util::{Error, Res};
use alloc::vec::Vec;

#[derive(Clone, Copy)]
pub struct Opt {
    pub id: u8,
    pub short: u8,
    pub val: bool,
    /// The long name, then after a space the book's single-dash spelling
    /// if any: "memory -mem". (One &str, not two: 16 bytes less per
    /// option in the tables.)
    pub names: &'static str,
}

pub const fn o(id: u8, names: &'static str, short: u8, val: bool) -> Opt {
    Opt { id, short, val, names }
}

impl Opt {
    /// (long name, alias)
    fn names(&self) -> (&[u8], &[u8]) {
        let n = self.names.as_bytes();
        match n.iter().position(|&c| c == b' ') {
            Some(p) => (&n[..p], &n[p + 1..]),
            None => (n, b""),
        }
    }
}

pub const HELP: u8 = 0;

/// Parses options per `table`. With `stop`, the first positional ends
/// parsing and it and everything after it are returned as positionals;
/// without, positionals and options may interleave (as in `rm a -f b`).
/// Options (id, value; empty for a flag) in order, and positionals: both
/// borrow from `args` (owned copies cost 2 KB of clone and drop code).
pub type Parsed<'a> = (Vec<(u8, &'a [u8])>, Vec<&'a [u8]>);

pub fn parse<'a>(args: &'a [Vec<u8>], table: &[Opt], stop: bool, usage: u8) -> Res<Parsed<'a>> {
    let mut opts = Vec::new();
    let mut pos: Vec<&[u8]> = Vec::new();
    let mut i = 0;
    let bad = |flag: &[u8], why: &[u8]| -> Error { with_usage(Error::new(flag, why), usage) };
    while i < args.len() {
        let a = args[i].as_slice();
        i += 1;
        if a == b"--" {
            rest(&mut pos, &args[i..]);
            break;
        }
        if a.len() < 2 || a[0] != b'-' {
            pos.push(a);
            if stop {
                rest(&mut pos, &args[i..]);
                break;
            }
            continue;
        }
        if a == b"--help" {
            opts.push((HELP, &b""[..]));
            continue;
        }
        // `--long[=v]`, or the book's single-dash long aliases ("-mem 100m", "-name=x").
        let long = a.starts_with(b"--");
        let body = if long { &a[2..] } else { a };
        let (name, inline) = match body.iter().position(|&c| c == b'=') {
            Some(p) => (&body[..p], Some(&body[p + 1..])),
            None => (body, None),
        };
        if let Some(opt) = table.iter().find(|o| {
            let (l, alias) = o.names();
            if long {
                l == name
            } else {
                !alias.is_empty() && alias == name
            }
        }) {
            let v: &[u8] = match inline {
                _ if opt.val => match inline {
                    Some(v) => v,
                    None => {
                        i += 1;
                        args.get(i - 1).ok_or_else(|| bad(a, b"flag needs an argument"))?
                    }
                },
                None | Some(b"true") => b"",
                _ if !long => b"", // an alias ignores "=..."
                Some(b"false") => continue,
                Some(_) => return Err(bad(a, b"flag takes no value")),
            };
            opts.push((opt.id, v));
            continue;
        }
        if long {
            return Err(bad(a, b"unknown flag"));
        }
        // A cluster of short flags; a value-taking one eats the rest.
        let mut j = 1;
        while j < a.len() {
            let c = a[j];
            j += 1;
            let Some(opt) = table.iter().find(|o| o.short == c) else {
                if c == b'h' {
                    opts.push((HELP, b""));
                    continue;
                }
                return Err(bad(&[b'-', c], b"unknown shorthand flag"));
            };
            if opt.val {
                let mut v = &a[j..];
                if v.first() == Some(&b'=') {
                    v = &v[1..];
                }
                if v.is_empty() {
                    if i >= args.len() {
                        // `run -h` with nothing after it asks for help.
                        if c == b'h' {
                            opts.push((HELP, b""));
                            break;
                        }
                        return Err(bad(&[b'-', c], b"flag needs an argument"));
                    }
                    v = &args[i];
                    i += 1;
                }
                opts.push((opt.id, v));
                break;
            }
            opts.push((opt.id, b""));
        }
    }
    Ok((opts, pos))
}

/// Every argument from here on is a positional.
fn rest<'a>(pos: &mut Vec<&'a [u8]>, args: &'a [Vec<u8>]) {
    for x in args {
        pos.push(x);
    }
}

pub fn with_usage(e: Error, usage: u8) -> Error {
    e.append(b"\n").append(&usage_text(usage))
}

/// The help texts of cli/usage.rs, NUL-separated, compressed by build.rs.
static USAGE_LZ: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/usage.lz"));

/// Help text number `id` (the ids of cli/usage.rs).
pub fn usage_text(id: u8) -> Vec<u8> {
    let all = unlz(USAGE_LZ);
    crate::engine::util::fields(&all, 0).nth(id as usize).unwrap_or_default().to_vec()
}

/// The decoder of build.rs's `lz`: a byte below 0x80 is itself (the texts
/// are ASCII); `1LLLLDDD DDDDDDDD` copies L+3 bytes from D+1 back (the
/// copy may overlap itself, which makes runs of spaces). Deflate would
/// save 300 bytes more but its decoder costs more than that.
fn unlz(z: &[u8]) -> Vec<u8> {
    let mut o = Vec::new();
    let mut i = 0;
    while i < z.len() {
        let t = z[i] as usize;
        i += 1;
        if t < 0x80 {
            o.push(t as u8);
            continue;
        }
        let from = o.len() - ((t & 7) << 8 | z[i] as usize) - 1;
        i += 1;
        for k in 0..(t >> 3 & 15) + 3 {
            o.push(o[from + k]);
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::super::usage;

    #[test]
    fn help_texts_survive_compression() {
        for (id, text) in usage::ALL.iter().enumerate() {
            assert_eq!(super::usage_text(id as u8), text.as_bytes(), "text {id}");
        }
        assert!(super::usage_text(usage::RUN).starts_with(b"Usage: mydocker run "));
        assert!(super::usage_text(usage::MAIN).starts_with(b"Usage: mydocker [--root DIR] COMMAND"));
        assert!(super::USAGE_LZ.len() * 2 < usage::ALL.iter().map(|t| t.len()).sum::<usize>());
    }
}

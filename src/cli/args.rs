//! The option-table parser shared by the front ends: long and short
//! spellings, clusters, inline values, aliases, `--`.

use crate::engine::util::{Error, Res};
use alloc::vec::Vec;

#[derive(Clone, Copy)]
pub struct Opt {
    pub id: u8,
    pub long: &'static str,
    pub short: u8,
    /// The book's single-dash spelling, e.g. "-mem".
    pub alias: &'static str,
    pub val: bool,
}

pub const fn o(id: u8, long: &'static str, short: u8, alias: &'static str, val: bool) -> Opt {
    Opt { id, long, short, alias, val }
}

pub const HELP: u8 = 0;

/// An option's value: inline (`--f=v`, `-fv`) or the next argument.
fn value(inline: Option<Vec<u8>>, args: &[Vec<u8>], i: &mut usize) -> Option<Vec<u8>> {
    inline.or_else(|| {
        *i += 1;
        args.get(*i - 1).cloned()
    })
}

/// Parses options per `table`. With `stop`, the first positional ends
/// parsing and it and everything after it are returned as positionals;
/// without, positionals and options may interleave (as in `rm a -f b`).
/// Options (id, value) in order, and positionals.
pub type Parsed = (Vec<(u8, Vec<u8>)>, Vec<Vec<u8>>);

pub fn parse(args: &[Vec<u8>], table: &[Opt], stop: bool, usage: &'static str) -> Res<Parsed> {
    let mut opts = Vec::new();
    let mut pos = Vec::new();
    let mut i = 0;
    let bad = |flag: &[u8], why: &[u8]| -> Error { with_usage(Error::new(flag, why), usage) };
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if a.as_slice() == b"--" {
            pos.extend(args[i..].iter().cloned());
            break;
        }
        if a.len() < 2 || a[0] != b'-' {
            pos.push(a.clone());
            if stop {
                pos.extend(args[i..].iter().cloned());
                break;
            }
            continue;
        }
        if a.as_slice() == b"--help" {
            opts.push((HELP, Vec::new()));
            continue;
        }
        if a.starts_with(b"--") {
            let body = &a[2..];
            let (name, inline) = match body.iter().position(|&c| c == b'=') {
                Some(p) => (&body[..p], Some(body[p + 1..].to_vec())),
                None => (body, None),
            };
            let Some(opt) = table.iter().find(|o| o.long.as_bytes() == name) else {
                return Err(bad(a, b"unknown flag"));
            };
            if opt.val {
                let v = value(inline, args, &mut i).ok_or_else(|| bad(a, b"flag needs an argument"))?;
                opts.push((opt.id, v));
            } else {
                match inline.as_deref() {
                    None | Some(b"true") => opts.push((opt.id, Vec::new())),
                    Some(b"false") => {}
                    Some(_) => return Err(bad(a, b"flag takes no value")),
                }
            }
            continue;
        }
        // Single dash: the book's long aliases first ("-mem 100m", "-name=x").
        let (head, inline) = match a.iter().position(|&c| c == b'=') {
            Some(p) => (&a[..p], Some(a[p + 1..].to_vec())),
            None => (&a[..], None),
        };
        if let Some(opt) = table.iter().find(|o| !o.alias.is_empty() && o.alias.as_bytes() == head) {
            let v = if opt.val { value(inline, args, &mut i).ok_or_else(|| bad(a, b"flag needs an argument"))? } else { Vec::new() };
            opts.push((opt.id, v));
            continue;
        }
        // A cluster of short flags; a value-taking one eats the rest.
        let mut j = 1;
        while j < a.len() {
            let c = a[j];
            j += 1;
            let Some(opt) = table.iter().find(|o| o.short == c) else {
                if c == b'h' {
                    opts.push((HELP, Vec::new()));
                    continue;
                }
                return Err(bad(&[b'-', c], b"unknown shorthand flag"));
            };
            if opt.val {
                let mut v = a[j..].to_vec();
                if v.first() == Some(&b'=') {
                    v.remove(0);
                }
                if v.is_empty() {
                    if i >= args.len() {
                        // `run -h` with nothing after it asks for help.
                        if c == b'h' {
                            opts.push((HELP, Vec::new()));
                            break;
                        }
                        return Err(bad(&[b'-', c], b"flag needs an argument"));
                    }
                    v = args[i].clone();
                    i += 1;
                }
                opts.push((opt.id, v));
                break;
            }
            opts.push((opt.id, Vec::new()));
        }
    }
    Ok((opts, pos))
}

pub fn with_usage(e: Error, usage: &str) -> Error {
    e.append(b"\n").append(usage.as_bytes())
}

//! JSON, both ways. The reader checks a whole document once (`parse`:
//! RFC 8259's grammar, UTF-8, nesting at most 64 deep, without recursion)
//! and then walks the checked text without copying it: a `J` is the raw
//! text of one value. The writer makes strings, arrays of strings and
//! whole objects from templates (`tpl`). Image configs, manifests and
//! indexes are untrusted input; they are read only through `parse`.

#![allow(dead_code)] // the image loader and saver are its users (issue 10)

use crate::engine::util::{parse_u64, Buf};
use alloc::vec::Vec;

// ------------------------------------------------------------------ reader

/// The text of one value of a document `parse` accepted, without the
/// whitespace around it. Only `parse` and the walkers below make one, so
/// every `J` is well-formed and the walkers need not check again.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct J<'a>(&'a [u8]);

fn ws(t: &[u8], mut i: usize) -> usize {
    while i < t.len() && matches!(t[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// The end of the digits from `i`; None if there are none.
fn digits(t: &[u8], i: usize) -> Option<usize> {
    let mut j = i;
    while j < t.len() && t[j].is_ascii_digit() {
        j += 1;
    }
    (j > i).then_some(j)
}

/// Checks the string at `i`; returns the index after its closing quote.
fn string(t: &[u8], mut i: usize) -> Option<usize> {
    if t.get(i) != Some(&b'"') {
        return None;
    }
    i += 1;
    loop {
        let c = *t.get(i)?;
        i += 1;
        match c {
            b'"' => return Some(i),
            0..=0x1f => return None,
            b'\\' => {
                let e = *t.get(i)?;
                i += 1;
                if e == b'u' {
                    for _ in 0..4 {
                        if !t.get(i)?.is_ascii_hexdigit() {
                            return None;
                        }
                        i += 1;
                    }
                } else if !b"\"\\/bfnrt".contains(&e) {
                    return None;
                }
            }
            _ => {}
        }
    }
}

/// Checks a member's key and colon at `i`; returns where its value starts.
fn key(t: &[u8], i: usize) -> Option<usize> {
    let i = ws(t, string(t, i)?);
    if t.get(i) != Some(&b':') {
        return None;
    }
    Some(ws(t, i + 1))
}

/// Checks the number at `i`: `-? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)?`.
fn number(t: &[u8], mut i: usize) -> Option<usize> {
    i += (t[i] == b'-') as usize;
    let j = digits(t, i)?;
    if t[i] == b'0' && j > i + 1 {
        return None;
    }
    i = j;
    if t.get(i) == Some(&b'.') {
        i = digits(t, i + 1)?;
    }
    if matches!(t.get(i), Some(b'e' | b'E')) {
        i += 1;
        i += matches!(t.get(i), Some(b'+' | b'-')) as usize;
        i = digits(t, i)?;
    }
    Some(i)
}

/// Checks `text` as one JSON document (a value with whitespace around it)
/// and returns that value. Strict: no trailing commas, no comments, no
/// bare words, no control characters in strings, UTF-8 only, containers
/// nested at most 64 deep (see `scan`).
pub fn parse(t: &[u8]) -> Option<J<'_>> {
    if utf8_prefix(t) != t.len() {
        return None;
    }
    let start = ws(t, 0);
    let end = scan(t, start)?;
    (ws(t, end) == t.len()).then(|| J(&t[start..end]))
}

/// Checks the value that starts at `i` (a loop with a bit per level of
/// nesting, not recursion); returns where it ends. On text `parse`
/// accepted it is also how a walk finds the end of a value.
#[inline(never)]
fn scan(t: &[u8], mut i: usize) -> Option<usize> {
    // Bit n of `stack`: the container n levels up is an object.
    let (mut stack, mut depth) = (0u64, 0);
    'value: loop {
        let c = *t.get(i)?;
        i = match c {
            b'[' | b'{' => {
                if depth == 64 {
                    return None;
                }
                depth += 1;
                stack = stack << 1 | (c == b'{') as u64;
                i = ws(t, i + 1);
                // `]` and `}` are two past `[` and `{`
                if t.get(i) != Some(&(c + 2)) {
                    if c == b'{' {
                        i = key(t, i)?;
                    }
                    continue;
                }
                depth -= 1;
                stack >>= 1;
                i + 1
            }
            b'"' => string(t, i)?,
            b'-' | b'0'..=b'9' => number(t, i)?,
            _ => {
                let w = &t[i..];
                i + if w.starts_with(b"true") || w.starts_with(b"null") {
                    4
                } else if w.starts_with(b"false") {
                    5
                } else {
                    return None;
                }
            }
        };
        // After a value: close containers until a comma or the end.
        loop {
            if depth == 0 {
                return Some(i);
            }
            i = ws(t, i);
            let obj = stack & 1 != 0;
            let c = *t.get(i)?;
            i += 1;
            if c == b',' {
                i = ws(t, i);
                if obj {
                    i = key(t, i)?;
                }
                continue 'value;
            }
            if c != if obj { b'}' } else { b']' } {
                return None;
            }
            depth -= 1;
            stack >>= 1;
        }
    }
}

/// The end of the checked value that starts at `i` (`i` itself at a
/// container's close: an empty container has no value there).
fn end(t: &[u8], i: usize) -> usize {
    scan(t, i).unwrap_or(i)
}

/// A walk over a container's elements: `i` is at the `[`, `{` or `,`
/// before the next one (anything else: done).
struct Walk<'a> {
    t: &'a [u8],
    i: usize,
}

impl<'a> Walk<'a> {
    /// A walk over `j` if it is a container opened by `open`, else none.
    #[inline(never)]
    fn new(j: &J<'a>, open: u8) -> Walk<'a> {
        Walk { t: j.0, i: if j.0.first() == Some(&open) { 0 } else { j.0.len() } }
    }

    /// The next (key, value); the key is empty in an array.
    #[inline(never)]
    fn step(&mut self) -> Option<(J<'a>, J<'a>)> {
        let t = self.t;
        if !matches!(t.get(self.i)?, b'[' | b'{' | b',') {
            return None;
        }
        let mut i = ws(t, self.i + 1);
        let mut k = J(&[]);
        if t[0] == b'{' && t[i] == b'"' {
            let e = end(t, i);
            k = J(&t[i..e]);
            i = ws(t, ws(t, e) + 1);
        }
        let e = end(t, i);
        self.i = ws(t, e);
        // an empty container: its close is where a value would be
        if e == i {
            return None;
        }
        Some((k, J(&t[i..e])))
    }
}

/// The elements of an array (`J::items`).
pub struct Items<'a>(Walk<'a>);

impl<'a> Iterator for Items<'a> {
    type Item = J<'a>;
    fn next(&mut self) -> Option<J<'a>> {
        self.0.step().map(|(_, v)| v)
    }
}

/// The members of an object, keys unescaped (`J::members`).
pub struct Members<'a>(Walk<'a>);

impl<'a> Iterator for Members<'a> {
    type Item = (Vec<u8>, J<'a>);
    fn next(&mut self) -> Option<(Vec<u8>, J<'a>)> {
        self.0.step().map(|(k, v)| (k.str().unwrap_or_default(), v))
    }
}

fn hex4(t: &[u8], i: usize) -> u32 {
    let mut u = 0;
    for k in 0..4 {
        u = u << 4 | t.get(i + k).and_then(|&c| (c as char).to_digit(16)).unwrap_or(0);
    }
    u
}

impl J<'static> {
    /// `null`: what a missing member is walked as (no items, no members).
    pub const NULL: J<'static> = J(b"null");
}

impl<'a> J<'a> {
    /// The string member `key` (empty if absent or not a string).
    #[inline(never)]
    pub fn str_at(&self, key: &[u8]) -> Vec<u8> {
        self.get(key).and_then(|x| x.str()).unwrap_or_default()
    }

    /// The string-array member `key` (see `strs`; empty if absent or not one).
    #[inline(never)]
    pub fn strs_at(&self, key: &[u8]) -> Vec<Vec<u8>> {
        self.get(key).and_then(|x| x.strs()).unwrap_or_default()
    }

    /// The value's text as it is in the document.
    pub fn raw(&self) -> &'a [u8] {
        self.0
    }

    pub fn is_null(&self) -> bool {
        self.0 == b"null"
    }

    /// The member `key` of an object (keys compared unescaped). With
    /// duplicate keys the last one wins, as in Go, Python and JavaScript.
    /// None when absent or when this is not an object.
    pub fn get(&self, key: &[u8]) -> Option<J<'a>> {
        let mut w = Walk::new(self, b'{');
        let mut found = None;
        while let Some((k, v)) = w.step() {
            if k.str().as_deref() == Some(key) {
                found = Some(v);
            }
        }
        found
    }

    /// The elements of an array (none when this is not an array).
    pub fn items(&self) -> Items<'a> {
        Items(Walk::new(self, b'['))
    }

    /// The members of an object in document order, duplicates included
    /// (none when this is not an object).
    pub fn members(&self) -> Members<'a> {
        Members(Walk::new(self, b'{'))
    }

    /// A string's bytes, unescaped; `\u` escapes become UTF-8, a surrogate
    /// pair one code point, a lone surrogate U+FFFD. None if not a string.
    pub fn str(&self) -> Option<Vec<u8>> {
        let t = self.0;
        if t.first() != Some(&b'"') {
            return None;
        }
        let mut o = Vec::with_capacity(t.len());
        let mut i = 1;
        while i + 1 < t.len() {
            let c = t[i];
            i += 1;
            if c != b'\\' {
                o.push(c);
                continue;
            }
            let e = t[i];
            i += 1;
            if e != b'u' {
                // b t n f r → 8 9 10 12 13 (u is never here); " \ / are themselves
                let k = b"btnufr".iter().position(|&c| c == e);
                o.push(k.map_or(e, |k| 8 + k as u8));
                continue;
            }
            let mut u = hex4(t, i);
            i += 4;
            let l = hex4(t, i + 2);
            if (0xd800..0xdc00).contains(&u) && t[i..].starts_with(b"\\u") && (0xdc00..0xe000).contains(&l) {
                u = 0x10000 + ((u - 0xd800) << 10) + (l - 0xdc00);
                i += 6;
            } else if (0xd800..0xe000).contains(&u) {
                u = 0xfffd;
            }
            // UTF-8: a lead byte and n continuation bytes
            let n = (u >= 0x80) as usize + (u >= 0x800) as usize + (u >= 0x10000) as usize;
            let (mut b, mut k) = ([0u8; 4], n);
            while k > 0 {
                b[k] = 0x80 | (u as u8 & 0x3f);
                u >>= 6;
                k -= 1;
            }
            b[0] = if n > 0 { (0xff80u32 >> n) as u8 } else { 0 } | u as u8;
            o.extend_from_slice(&b[..=n]);
        }
        Some(o)
    }

    /// An integer (no fraction, no exponent) that fits an i64.
    pub fn num(&self) -> Option<i64> {
        let (neg, d) = match self.0.split_first() {
            Some((b'-', d)) => (true, d),
            _ => (false, self.0),
        };
        let n = i64::try_from(parse_u64(d)?).ok()?;
        Some(if neg { -n } else { n })
    }

    /// An array of strings; null is an empty list. None for anything else
    /// (or an element that is not a string).
    pub fn strs(&self) -> Option<Vec<Vec<u8>>> {
        let mut v = Vec::new();
        let mut w = Walk::new(self, b'[');
        if w.i != 0 && !self.is_null() {
            return None;
        }
        while let Some((_, x)) = w.step() {
            v.push(x.str()?);
        }
        Some(v)
    }
}

// ------------------------------------------------------------------ writer

/// Writes a JSON string: UTF-8 passes through, quotes, backslashes and
/// controls are escaped, bytes that are not UTF-8 become \u00XX (so the
/// output is always valid JSON; `J::str` reads such a byte back as the
/// code point, U+0080..U+00FF).
pub fn str(b: &mut Vec<u8>, s: &[u8]) {
    const H: &[u8; 16] = b"0123456789abcdef";
    b.push(b'"');
    // `ok`: the end of the valid UTF-8 run that `i` is in
    let (mut i, mut ok) = (0, 0);
    while i < s.len() {
        if i == ok {
            ok = i + utf8_prefix(&s[i..]);
        }
        let c = s[i];
        i += 1;
        match c {
            b'"' | b'\\' | b'\n' | b'\t' => b.extend_from_slice(&[
                b'\\',
                match c {
                    b'\n' => b'n',
                    b'\t' => b't',
                    c => c,
                },
            ]),
            // a control, or a byte that is not UTF-8 (the next run starts after it)
            c if c < 0x20 || c == 0x7f || ok < i => {
                ok = ok.max(i);
                b.extend_from_slice(&[b'\\', b'u', b'0', b'0', H[(c >> 4) as usize], H[(c & 15) as usize]]);
            }
            c => b.push(c),
        };
    }
    b.push(b'"');
}

/// Writes a JSON array of strings.
#[inline(never)]
pub fn strs(b: &mut Vec<u8>, l: &[Vec<u8>]) {
    b.push(b'[');
    for (i, x) in l.iter().enumerate() {
        if i > 0 {
            b.push(b',');
        }
        str(b, x);
    }
    b.push(b']');
}

/// The length of the valid UTF-8 prefix of `s`, as from_utf8's
/// `valid_up_to` (no overlongs, surrogates or code points past U+10FFFF),
/// without core's word-at-a-time validator (0.3 KB).
fn utf8_prefix(s: &[u8]) -> usize {
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        let (n, min) = match c {
            0..=0x7f => {
                i += 1;
                continue;
            }
            0xc2..=0xdf => (1, 0x80),
            0xe0..=0xef => (2, 0x800),
            0xf0..=0xf4 => (3, 0x10000),
            _ => return i,
        };
        let mut cp = (c & (0x7f >> (n + 1))) as u32;
        for k in 1..=n {
            match s.get(i + k) {
                Some(&b) if b & 0xc0 == 0x80 => cp = cp << 6 | (b & 0x3f) as u32,
                _ => return i,
            }
        }
        if cp < min || cp > 0x10ffff || (0xd800..0xe000).contains(&cp) {
            return i;
        }
        i += n + 1;
    }
    i
}

/// Writes template `t` into `b`, each marker byte taking the next value of
/// its kind: 1 a JSON string from `s`, 2 raw bytes from `s` (a number's
/// digits, a `J::raw` copied through), 3 a number from `n`, 4 a JSON bool
/// from `n`, 5 a JSON array of strings from `l` (6: the same, but `null`
/// when it is empty). The keys and punctuation
/// of an object are one literal: a call per member cost 40 bytes of code,
/// a value in an array costs 10.
pub fn tpl(b: &mut Buf, t: &[u8], s: &[&[u8]], n: &[i64], l: &[&[Vec<u8>]]) {
    let (mut si, mut ni, mut li) = (0, 0, 0);
    for &c in t {
        // (7 is 1 in a template kept with the message texts, `tpl_m`)
        let c = if c == 7 { 1 } else { c };
        match c {
            1 | 2 => {
                if c == 1 {
                    str(&mut b.0, s[si]);
                } else {
                    b.b(s[si]);
                }
                si += 1;
            }
            3 | 4 => {
                if c == 3 {
                    b.i(n[ni]);
                } else {
                    b.s(if n[ni] != 0 { "true" } else { "false" });
                }
                ni += 1;
            }
            5 | 6 => {
                if c == 6 && l[li].is_empty() {
                    b.s("null");
                } else {
                    strs(&mut b.0, l[li]);
                }
                li += 1;
            }
            c => b.0.push(c),
        }
    }
}

/// `tpl` with the template kept with the message texts, from byte `skip`
/// on (there `\x07` stands for `\x01`: the blob keeps `\x01` for its errno
/// texts).
#[inline(never)]
pub fn tpl_m(b: &mut Buf, id: crate::engine::util::Msg, skip: usize, s: &[&[u8]], n: &[i64], l: &[&[Vec<u8>]]) {
    tpl(b, &crate::engine::util::msg_text(id)[skip..], s, n, l);
}

/// `"sha256:A","sha256:B"`: diff IDs (hex) as a JSON array's items.
#[inline(never)]
pub fn digests(b: &mut Buf, l: &[Vec<u8>]) {
    for (i, d) in l.iter().enumerate() {
        tpl(b, &b",\"sha256:\x02\""[(i == 0) as usize..], &[d], &[], &[]);
    }
}

/// Copies the members of object `j` into `b` as `{"k":v,"k":v,` (each one
/// followed by a comma, keys and values verbatim), leaving out the keys in
/// `drop`: the caller appends its own members and the `}`. For writing an
/// image config back with some members replaced (commit).
pub fn copy_except(b: &mut Vec<u8>, j: J, drop: &[&[u8]]) {
    b.push(b'{');
    let mut w = Walk::new(&j, b'{');
    while let Some((k, v)) = w.step() {
        let name = k.str().unwrap_or_default();
        if !drop.iter().any(|d| *d == &name[..]) {
            b.extend_from_slice(k.0);
            b.push(b':');
            b.extend_from_slice(v.0);
            b.push(b',');
        }
    }
}

// ------------------------------------------------------------------- tests

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::String;

    fn p(s: &str) -> Option<J<'_>> {
        parse(s.as_bytes())
    }

    fn s(j: Option<J>) -> Vec<u8> {
        j.and_then(|j| j.str()).expect("a string")
    }

    /// python3's json module as a referee, one process for many documents:
    /// for each, does it accept it, and what does it make of it (dumped
    /// compactly, keys sorted)? NaN and Infinity are refused, as RFC 8259 does.
    fn pythons(docs: &[Vec<u8>]) -> Vec<Option<String>> {
        use std::io::Write;
        let prog = "import json,sys\nsys.stdout.reconfigure(errors='backslashreplace')\nfor l in sys.stdin:\n try: print(json.dumps(json.loads(bytes.fromhex(l).decode('utf-8'),parse_constant=lambda c: 1/0),sort_keys=True,separators=(',',':'),ensure_ascii=False))\n except Exception: print('!')";
        let mut c =
            std::process::Command::new("python3").args(["-c", prog]).stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).spawn().unwrap();
        let mut input = String::new();
        for d in docs {
            for b in d {
                input.push_str(&std::format!("{b:02x}"));
            }
            input.push('\n');
        }
        // a writer thread: python answers while it reads, both pipes fill
        let mut w = c.stdin.take().unwrap();
        let t = std::thread::spawn(move || w.write_all(input.as_bytes()).unwrap());
        let o = c.wait_with_output().unwrap();
        t.join().unwrap();
        assert!(o.status.success());
        let out = String::from_utf8(o.stdout).unwrap();
        let v: Vec<_> = out.lines().map(|l| (l != "!").then(|| l.into())).collect();
        assert_eq!(v.len(), docs.len());
        v
    }

    fn python(doc: &[u8]) -> Option<String> {
        pythons(&[doc.to_vec()]).pop().unwrap()
    }

    #[test]
    fn utf8_prefix_is_from_utf8s() {
        let cases: [&[u8]; 12] = [
            b"plain",
            "é€😀".as_bytes(),
            b"a\xff",
            b"\xc0\x80",
            b"\xe0\x80\x80",
            b"\xed\xa0\x80",
            b"\xf4\x90\x80\x80",
            b"\xf0\x9f\x98",
            b"ok\xe2\x82",
            b"\xc3",
            b"\x80x",
            b"\xef\xbf\xbfz",
        ];
        for c in cases {
            let want = match core::str::from_utf8(c) {
                Ok(_) => c.len(),
                Err(e) => e.valid_up_to(),
            };
            assert_eq!(utf8_prefix(c), want, "{c:?}");
        }
    }

    #[test]
    fn json_strings_are_always_valid() {
        let mut b = Vec::new();
        str(&mut b, b"a\"b\\c\nd\x01\xff\xc3\xa9");
        assert_eq!(b, "\"a\\\"b\\\\c\\nd\\u0001\\u00ffé\"".as_bytes());
    }

    const CONFIG: &str = r#"{"created":"2024-05-01T10:00:00.123456789Z","architecture":"amd64","os":"linux",
 "config":{"ExposedPorts":{"80/tcp":{},"53/udp":{}},"Env":["PATH=/usr/sbin:/usr/bin:/sbin:/bin","KEY=value"],
   "Entrypoint":["/usr/local/bin/app"],"Cmd":["--flag","arg with space"],"WorkingDir":"/srv/app",
   "User":"1000:1000","Labels":{"io.buildah.version":"1.28.2"}},
 "rootfs":{"type":"layers","diff_ids":["sha256:1111111111111111111111111111111111111111111111111111111111111111","sha256:2222222222222222222222222222222222222222222222222222222222222222"]},
 "history":[{"created":"2024-05-01T10:00:00Z","created_by":"/bin/sh -c #(nop) ADD file:abc in / ","comment":"FROM busybox"},
   {"created":"2024-05-01T10:00:01Z","created_by":"/bin/sh -c #(nop) EXPOSE 80","empty_layer":true}]}
"#;

    #[test]
    fn an_image_config() {
        let j = p(CONFIG).unwrap();
        assert_eq!(s(j.get(b"architecture")), b"amd64");
        let c = j.get(b"config").unwrap();
        assert_eq!(c.get(b"Env").unwrap().strs().unwrap(), [b"PATH=/usr/sbin:/usr/bin:/sbin:/bin".to_vec(), b"KEY=value".to_vec()]);
        assert_eq!(c.get(b"Cmd").unwrap().strs().unwrap(), [b"--flag".to_vec(), b"arg with space".to_vec()]);
        assert_eq!(s(c.get(b"WorkingDir")), b"/srv/app");
        assert_eq!(s(c.get(b"User")), b"1000:1000");
        let ports: Vec<_> = c.get(b"ExposedPorts").unwrap().members().map(|(k, v)| (k, v.raw())).collect();
        assert_eq!(ports, [(b"80/tcp".to_vec(), &b"{}"[..]), (b"53/udp".to_vec(), &b"{}"[..])]);
        let l: Vec<_> = c.get(b"Labels").unwrap().members().collect();
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].1.str().unwrap(), b"1.28.2");
        let ids = j.get(b"rootfs").unwrap().get(b"diff_ids").unwrap().strs().unwrap();
        assert_eq!(ids.len(), 2);
        assert!(ids[1].starts_with(b"sha256:2222"));
        let h: Vec<_> = j.get(b"history").unwrap().items().collect();
        assert_eq!(h.len(), 2);
        assert_eq!(h[0].get(b"empty_layer"), None);
        assert_eq!(h[1].get(b"empty_layer").unwrap().raw(), b"true");
        assert_eq!(s(h[1].get(b"created_by")), b"/bin/sh -c #(nop) EXPOSE 80");
        // absent members and wrong kinds
        assert_eq!(c.get(b"Volumes"), None);
        assert_eq!(c.get(b"Env").unwrap().get(b"x"), None);
        assert_eq!(c.get(b"User").unwrap().strs(), None);
        assert_eq!(c.get(b"User").unwrap().items().count(), 0);
        assert_eq!(c.get(b"Env").unwrap().members().count(), 0);
        assert_eq!(c.get(b"Env").unwrap().str(), None);
        assert!(j.get(b"created").unwrap().num().is_none());
    }

    #[test]
    fn manifests_and_indexes() {
        let m = p(r#"[{"Config":"blobs/sha256/aa","RepoTags":["localhost/app:latest","app:v2"],"Layers":["blobs/sha256/l1","blobs/sha256/l2"]},
            {"Config":"bb.json","RepoTags":null,"Layers":[]}]"#)
        .unwrap();
        let v: Vec<_> = m.items().collect();
        assert_eq!(v.len(), 2);
        assert_eq!(s(v[0].get(b"Config")), b"blobs/sha256/aa");
        assert_eq!(v[0].get(b"RepoTags").unwrap().strs().unwrap()[1], b"app:v2");
        assert_eq!(v[0].get(b"Layers").unwrap().strs().unwrap().len(), 2);
        assert!(v[1].get(b"RepoTags").unwrap().is_null());
        assert_eq!(v[1].get(b"RepoTags").unwrap().strs().unwrap().len(), 0);
        assert_eq!(v[1].get(b"Layers").unwrap().items().count(), 0);

        let idx = p(r#"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json",
            "digest":"sha256:abc","size":1234,"annotations":{"org.opencontainers.image.ref.name":"latest",
            "io.containerd.image.name":"localhost/app:latest"}},
            {"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:def","size":-5,
             "platform":{"architecture":"arm64","os":"linux","variant":"v8"}}]}"#)
        .unwrap();
        assert_eq!(idx.get(b"schemaVersion").unwrap().num(), Some(2));
        let ms: Vec<_> = idx.get(b"manifests").unwrap().items().collect();
        assert_eq!(ms[0].get(b"size").unwrap().num(), Some(1234));
        assert_eq!(ms[1].get(b"size").unwrap().num(), Some(-5));
        assert_eq!(s(ms[0].get(b"annotations").unwrap().get(b"org.opencontainers.image.ref.name")), b"latest");
        assert_eq!(s(ms[1].get(b"platform").unwrap().get(b"variant")), b"v8");

        let man = p(r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
            "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:c","size":9},
            "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:l","size":4096}]}"#)
        .unwrap();
        assert_eq!(man.get(b"config").unwrap().get(b"size").unwrap().num(), Some(9));
        let l = man.get(b"layers").unwrap().items().next().unwrap();
        assert_eq!(s(l.get(b"mediaType")), b"application/vnd.oci.image.layer.v1.tar+gzip");
    }

    #[test]
    fn numbers() {
        for (t, want) in [
            ("0", Some(0)),
            ("-0", Some(0)),
            ("42", Some(42)),
            ("-17", Some(-17)),
            ("9223372036854775807", Some(i64::MAX)),
            ("9223372036854775808", None),
            ("12345678901234567890", None),
            ("1.5", None),
            ("1e3", None),
            ("10E-2", None),
            ("\"1\"", None),
            ("null", None),
        ] {
            assert_eq!(p(t).unwrap().num(), want, "{t}");
        }
    }

    #[test]
    fn scalars_and_whitespace() {
        assert_eq!(p(" \t\r\n true \n").unwrap().raw(), b"true");
        assert!(p("null").unwrap().is_null());
        assert_eq!(p("-1.25e+10").unwrap().raw(), b"-1.25e+10");
        assert_eq!(p(" [ ] ").unwrap().items().count(), 0);
        assert_eq!(p("{ }").unwrap().members().count(), 0);
        let j = p(" [ 1 , \"a\" , [ 2 , { } ] , { \"k\" : [ ] } , null ] ").unwrap();
        let raws: Vec<_> = j.items().map(|x| x.raw()).collect();
        assert_eq!(raws, [&b"1"[..], b"\"a\"", b"[ 2 , { } ]", b"{ \"k\" : [ ] }", b"null"]);
        let o = p("{ \"a\" : 1 , \"b\\\"]\" : \"x,}]\" , \"c\" : { \"d\" : [ \"]\" ] } }").unwrap();
        assert_eq!(o.get(b"a").unwrap().raw(), b"1");
        assert_eq!(s(o.get(b"b\"]")), b"x,}]");
        assert_eq!(s(o.get(b"c").unwrap().get(b"d").unwrap().items().next()), b"]");
    }

    #[test]
    fn duplicate_keys_last_wins_and_keys_are_unescaped() {
        let o = p(r#"{"a":1,"b":2,"a":3,"\u0061":4,"x\/y":5,"\ud83d\ude00":6}"#).unwrap();
        assert_eq!(o.get(b"a").unwrap().num(), Some(4));
        assert_eq!(o.get(b"x/y").unwrap().num(), Some(5));
        assert_eq!(o.get("😀".as_bytes()).unwrap().num(), Some(6));
        let keys: Vec<_> = o.members().map(|(k, _)| k).collect();
        assert_eq!(keys, [b"a".to_vec(), b"b".to_vec(), b"a".to_vec(), b"a".to_vec(), b"x/y".to_vec(), "😀".as_bytes().to_vec()]);
    }

    #[test]
    fn escapes_and_surrogates() {
        let cases: [(&str, &str); 12] = [
            (r#""plain""#, "plain"),
            (r#""\" \\ \/ \b \f \n \r \t""#, "\" \\ / \u{8} \u{c} \n \r \t"),
            (r#""\u0041\u00e9\u20AC""#, "Aé€"),
            (r#""\u0000""#, "\0"),
            (r#""\ud83d\ude00""#, "😀"),
            (r#""\uD83D\uDE00x""#, "😀x"),
            (r#""\ud83d""#, "\u{fffd}"),
            (r#""\ud83dx""#, "\u{fffd}x"),
            (r#""\ude00\ud83d""#, "\u{fffd}\u{fffd}"),
            (r#""\ud83d\u0041""#, "\u{fffd}A"),
            (r#""\ud83d\n""#, "\u{fffd}\n"),
            ("\"é€😀 raw\"", "é€😀 raw"),
        ];
        for (doc, want) in cases {
            assert_eq!(p(doc).map(|j| j.str()), Some(Some(want.as_bytes().to_vec())), "{doc}");
        }
    }

    #[test]
    fn invalid_documents_are_refused() {
        let bad: &[&[u8]] = &[
            b"",
            b"   ",
            b"[1,]",
            b"{\"a\":1,}",
            b"[,1]",
            b"{,}",
            b"[1 2]",
            b"{a:1}",
            b"{'a':1}",
            b"{\"a\" 1}",
            b"{\"a\":}",
            b"{\"a\"}",
            b"{1:2}",
            b"\"a\x01b\"",
            b"\"tab\there\"",
            b"\"\\x\"",
            b"\"\\u12\"",
            b"\"\\u12g4\"",
            b"\"\\",
            b"\"abc",
            b"01",
            b"-01",
            b"1.",
            b".5",
            b"-",
            b"+1",
            b"1e",
            b"1e+",
            b"0x10",
            b"1.5.2",
            b"NaN",
            b"Infinity",
            b"tru",
            b"nul",
            b"truex",
            b"True",
            b"[1]x",
            b"[1]]",
            b"{}}",
            b"[1",
            b"[[]",
            b"{\"a\":[1,2}",
            b"[1}",
            b"1 2",
            b"[] []",
            b"\"\xff\"",
            b"\"\xc3\"",
            b"\"\xed\xa0\x80\"",
            b"\xef\xbb\xbf{}",
            b"[1,/*c*/2]",
            b"[\x0c1]",
        ];
        let verdicts = pythons(&bad.iter().map(|d| d.to_vec()).collect::<Vec<_>>());
        for (d, v) in bad.iter().zip(verdicts) {
            assert_eq!(parse(d), None, "{:?}", String::from_utf8_lossy(d));
            assert_eq!(v, None, "python accepts {:?}", String::from_utf8_lossy(d));
        }
        // truncations of a valid document are all invalid (except where a
        // prefix is itself a document: none here, it is an object)
        let doc = CONFIG.trim_end().as_bytes();
        for n in 0..doc.len() {
            assert_eq!(parse(&doc[..n]), None, "prefix {n}");
        }
    }

    #[test]
    fn nesting_is_limited_without_recursion() {
        let deep = |n: usize, o: &str, c: &str| o.repeat(n) + &c.repeat(n);
        assert!(p(&deep(64, "[", "]")).is_some());
        assert!(p(&deep(65, "[", "]")).is_none());
        assert!(p(&deep(64, "{\"a\":", "}").replace("\"a\":}", "}")).is_some());
        assert!(p(&deep(10000, "[", "]")).is_none());
        assert!(p(&"[".repeat(10000)).is_none());
        assert!(p(&"{\"a\":".repeat(10000)).is_none());
        let d = deep(64, "[", "]");
        let j = p(&d).unwrap();
        let mut x = j;
        for _ in 0..63 {
            x = x.items().next().unwrap();
        }
        assert_eq!(x.raw(), b"[]");
        // mixed objects and arrays close in the right order
        assert!(p(r#"{"a":[{"b":[[{}]]}]}"#).is_some());
        assert!(p(r#"{"a":[{"b":[[{}]]]}}"#).is_none());
    }

    #[test]
    fn writer_escapes_and_round_trips() {
        let mut b = Vec::new();
        str(&mut b, b"a\"b\\c\nd\x01\xff\xc3\xa9\x7f/\t\r");
        assert_eq!(b, "\"a\\\"b\\\\c\\nd\\u0001\\u00ffé\\u007f/\\t\\u000d\"".as_bytes());
        assert_eq!(parse(&b).unwrap().str().unwrap(), "a\"b\\c\nd\u{1}\u{ff}é\u{7f}/\t\r".as_bytes());
        // every byte value, and valid UTF-8 runs, come back (bytes that
        // are not UTF-8 as the code point of the same number)
        let all: Vec<u8> = (0..=255u8).collect();
        for x in [&all[..], "é€😀\u{10ffff}".as_bytes(), b""] {
            let mut b = Vec::new();
            strs(&mut b, &[x.to_vec(), b"k".to_vec()]);
            let v = parse(&b).unwrap().strs().unwrap();
            let want: Vec<u8> = match core::str::from_utf8(x) {
                Ok(_) => x.to_vec(),
                Err(_) => x.iter().map(|&c| c as char).collect::<String>().into_bytes(),
            };
            assert_eq!(v, [want, b"k".to_vec()]);
            assert!(python(&b).is_some());
        }
        let mut b = Vec::new();
        strs(&mut b, &[]);
        assert_eq!(b, b"[]");
    }

    #[test]
    fn templates_and_copies_are_valid_json() {
        let mut b = Buf::new();
        tpl(
            &mut b,
            b"{\"s\":\x01,\"r\":\x02,\"n\":\x03,\"t\":\x04,\"f\":\x04,\"l\":\x05}",
            &[b"x\"y", b"[1,2]"],
            &[-12, 1, 0],
            &[&[b"a".to_vec(), b"b c".to_vec()]],
        );
        assert_eq!(b.0, br#"{"s":"x\"y","r":[1,2],"n":-12,"t":true,"f":false,"l":["a","b c"]}"#);
        assert_eq!(python(&b.0).unwrap(), r#"{"f":false,"l":["a","b c"],"n":-12,"r":[1,2],"s":"x\"y","t":true}"#);

        // a config with its rootfs and history replaced, as commit does
        let j = p(CONFIG).unwrap();
        let mut o = Vec::new();
        copy_except(&mut o, j, &[b"rootfs", b"history"]);
        o.extend_from_slice(br#""rootfs":{"type":"layers","diff_ids":[]}}"#);
        let k = parse(&o).expect("valid");
        assert_eq!(k.get(b"config").unwrap().raw(), j.get(b"config").unwrap().raw());
        assert_eq!(k.get(b"history"), None);
        assert_eq!(k.get(b"rootfs").unwrap().get(b"diff_ids").unwrap().strs().unwrap().len(), 0);
        assert!(python(&o).is_some());
        let mut o = Vec::new();
        copy_except(&mut o, p("{}").unwrap(), &[]);
        o.extend_from_slice(b"\"a\":1}");
        assert!(parse(&o).is_some());
    }

    /// A value written back through the reader and the writer.
    fn dump(j: J, o: &mut Vec<u8>) {
        match j.raw()[0] {
            b'[' => {
                o.push(b'[');
                for (i, x) in j.items().enumerate() {
                    if i > 0 {
                        o.push(b',');
                    }
                    dump(x, o);
                }
                o.push(b']');
            }
            b'{' => {
                o.push(b'{');
                for (i, (k, v)) in j.members().enumerate() {
                    if i > 0 {
                        o.push(b',');
                    }
                    str(o, &k);
                    o.push(b':');
                    dump(v, o);
                }
                o.push(b'}');
            }
            b'"' => str(o, &j.str().unwrap()),
            _ => o.extend_from_slice(j.raw()),
        }
    }

    /// Agrees with python on documents it accepts: values re-serialised
    /// through the reader and writer compare equal after python's dump.
    #[test]
    fn agrees_with_python() {
        for d in [CONFIG, r#"{"a":"\ud83d\ude00\u00e9\n\"","b":[1,-2.5e3,true,false,null,{}],"c":{"d":[[]]}}"#] {
            let mut o = Vec::new();
            dump(p(d).unwrap(), &mut o);
            assert_eq!(python(&o), python(d.as_bytes()));
        }
    }

    /// Random mutations of valid documents: never a panic or a hang, and
    /// whatever is accepted can be walked entirely.
    #[test]
    fn mutations_never_panic() {
        fn walk(j: J, n: &mut usize) {
            *n += 1;
            let _ = (j.str(), j.num(), j.strs(), j.is_null(), j.get(b"a"));
            for x in j.items() {
                walk(x, n);
            }
            for (_, v) in j.members() {
                walk(v, n);
            }
        }
        let seeds: [&[u8]; 4] = [
            CONFIG.as_bytes(),
            br#"[{"Config":"a.json","RepoTags":["x:y"],"Layers":["l.tar"]}]"#,
            br#"{"a":[1,-2.5e3,true,false,null,{"b":"\u00e9\ud83d\ude00\\"}],"c":{}}"#,
            b"[[[[{\"\":[]}]]]]",
        ];
        let alphabet = b"{}[],:\"\\ 0123456789.eE+-tfnulrsax\x01\xc3\xa9\xff/u";
        let mut r: u64 = 0x9e3779b97f4a7c15;
        let mut rnd = |n: usize| {
            r ^= r << 13;
            r ^= r >> 7;
            r ^= r << 17;
            (r % n as u64) as usize
        };
        let (mut ok, mut tried) = (0, 0);
        let mut docs = Vec::new();
        let mut verdicts = Vec::new();
        for round in 0..6000 {
            let mut d = seeds[round % seeds.len()].to_vec();
            for _ in 0..1 + rnd(4) {
                let at = rnd(d.len() + 1);
                match rnd(3) {
                    0 if at < d.len() => d[at] = alphabet[rnd(alphabet.len())],
                    1 if at < d.len() => {
                        d.remove(at);
                    }
                    _ => d.insert(at, alphabet[rnd(alphabet.len())]),
                }
            }
            tried += 1;
            let j = parse(&d);
            if let Some(j) = j {
                ok += 1;
                let mut n = 0;
                walk(j, &mut n);
                assert!(n > 0);
            }
            verdicts.push(j.is_some());
            docs.push(d);
        }
        // python agrees on every one of them, and on what the accepted ones
        // mean (but for lone surrogates: python keeps them, we make U+FFFD)
        let mut dumps = Vec::new();
        for (d, mine) in docs.iter().zip(&verdicts) {
            let mut o = Vec::new();
            if *mine {
                dump(parse(d).unwrap(), &mut o);
            }
            dumps.push(o);
        }
        let (py, py_dumps) = (pythons(&docs), pythons(&dumps));
        let mut same = 0;
        for (((d, mine), py), pd) in docs.iter().zip(verdicts).zip(py).zip(py_dumps) {
            assert_eq!(mine, py.is_some(), "python differs on {:?}", String::from_utf8_lossy(d));
            if let Some(py) = py.filter(|p| !p.contains("\\ud")) {
                assert_eq!(Some(py), pd, "the meaning of {:?}", String::from_utf8_lossy(d));
                same += 1;
            }
        }
        assert!(same > 100);
        assert!(ok > 100 && ok < tried, "{ok} of {tried} accepted");
    }
}

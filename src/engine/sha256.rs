//! SHA-256 (FIPS 180-4), streaming: image layers and configs are named by
//! the digest of their bytes, so a load hashes every blob as it passes.
//! One rolled compression loop over a round-constant table: small code,
//! and fast enough to keep up with gunzip.
#![allow(dead_code)]

use crate::engine::stream::Source;
use crate::engine::util::Res;

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74,
    0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d,
    0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e,
    0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5,
    0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

const H0: [u32; 8] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

pub struct Sha256 {
    h: [u32; 8],
    buf: [u8; 64],
    /// Bytes hashed so far (the position in `buf` is `len % 64`).
    len: u64,
}

impl Default for Sha256 {
    fn default() -> Sha256 {
        Sha256::new()
    }
}

impl Sha256 {
    #[inline(never)]
    pub fn new() -> Sha256 {
        Sha256 { h: H0, buf: [0; 64], len: 0 }
    }

    pub fn update(&mut self, mut d: &[u8]) {
        while !d.is_empty() {
            let at = (self.len & 63) as usize;
            let n = d.len().min(64 - at);
            self.buf[at..at + n].copy_from_slice(&d[..n]);
            self.len += n as u64;
            d = &d[n..];
            if at + n == 64 {
                compress(&mut self.h, &self.buf);
            }
        }
    }

    pub fn finish(&mut self) -> [u8; 32] {
        let bits = self.len << 3;
        self.update(&[0x80]);
        while self.len & 63 != 56 {
            self.update(&[0]);
        }
        self.update(&bits.to_be_bytes());
        let mut out = [0u8; 32];
        for i in 0..8 {
            out[i * 4..i * 4 + 4].copy_from_slice(&self.h[i].to_be_bytes());
        }
        out
    }
}

/// One 64-byte block into the state. Rolled: a round per iteration, the
/// eight working variables shifted down by plain moves.
#[inline(never)]
fn compress(h: &mut [u32; 8], b: &[u8; 64]) {
    let mut w = [0u32; 64];
    for i in 0..16 {
        w[i] = u32::from_be_bytes([b[i * 4], b[i * 4 + 1], b[i * 4 + 2], b[i * 4 + 3]]);
    }
    for i in 16..64 {
        let (x, y) = (w[i - 15], w[i - 2]);
        let s0 = x.rotate_right(7) ^ x.rotate_right(18) ^ (x >> 3);
        let s1 = y.rotate_right(17) ^ y.rotate_right(19) ^ (y >> 10);
        w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
    }
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = *h;
    for i in 0..64 {
        let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
        let ch = (e & f) ^ (!e & g);
        let t1 = hh.wrapping_add(s1).wrapping_add(ch).wrapping_add(K[i]).wrapping_add(w[i]);
        let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
        let maj = (a & b) ^ (a & c) ^ (b & c);
        hh = g;
        g = f;
        f = e;
        e = d.wrapping_add(t1);
        d = c;
        c = b;
        b = a;
        a = t1.wrapping_add(s0.wrapping_add(maj));
    }
    let v = [a, b, c, d, e, f, g, hh];
    for i in 0..8 {
        h[i] = h[i].wrapping_add(v[i]);
    }
}

/// A pass-through source that hashes and counts what it hands on.
pub struct Hashing<'a> {
    pub src: &'a mut dyn Source,
    pub sha: Sha256,
    pub n: u64,
}

impl<'a> Hashing<'a> {
    #[inline(never)]
    pub fn new(src: &'a mut dyn Source) -> Hashing<'a> {
        Hashing { src, sha: Sha256::new(), n: 0 }
    }
}

impl Source for Hashing<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Res<usize> {
        let n = self.src.read(buf)?;
        self.sha.update(&buf[..n]);
        self.n += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;

    pub fn sha(d: &[u8]) -> String {
        let mut s = Sha256::new();
        s.update(d);
        String::from_utf8(crate::engine::util::hex(&s.finish())).unwrap()
    }

    #[test]
    fn nist_vectors() {
        assert_eq!(sha(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(sha(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(sha(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
        assert_eq!(
            sha(b"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"
        );
    }

    #[test]
    fn block_edges() {
        // lengths around the padding boundary (55 fits the length in one
        // block, 56 needs a second) and whole blocks, checked against
        // sha256sum-computed values of 'a' * n.
        let want = [
            (55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"),
            (56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"),
            (57, "f13b2d724659eb3bf47f2dd6af1accc87b81f09f59f2b75e5c0bed6589dfe8c6"),
            (63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"),
            (64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"),
            (65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"),
        ];
        for (n, h) in want {
            assert_eq!(sha(&vec![b'a'; n]), h, "n={n}");
        }
    }

    #[test]
    fn million_a_in_odd_chunks() {
        let d = vec![b'a'; 1_000_000];
        for chunk in [1usize, 3, 7, 63, 64, 65, 1000, 4099] {
            let mut s = Sha256::new();
            for c in d.chunks(chunk) {
                s.update(c);
            }
            assert_eq!(
                String::from_utf8(crate::engine::util::hex(&s.finish())).unwrap(),
                "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
                "chunk={chunk}"
            );
        }
    }

    struct Slice<'a>(&'a [u8], usize);
    impl Source for Slice<'_> {
        fn read(&mut self, buf: &mut [u8]) -> Res<usize> {
            let n = self.0.len().min(buf.len()).min(self.1);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn hashing_tap() {
        let d: Vec<u8> = (0..100_000u32).map(|i| (i * 7 + i / 300) as u8).collect();
        let mut src = Slice(&d, 777);
        let mut h = Hashing::new(&mut src);
        let mut out = Vec::new();
        let mut b = [0u8; 1000];
        loop {
            let n = h.read(&mut b).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&b[..n]);
        }
        assert_eq!(out, d);
        assert_eq!(h.n, d.len() as u64);
        assert_eq!(String::from_utf8(crate::engine::util::hex(&h.sha.finish())).unwrap(), sha(&d));
    }
}

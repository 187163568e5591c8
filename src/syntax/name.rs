//! Interned names: every identifier of every parsed file is a [`Name`], a 4-byte number standing
//! for its text. The text of each distinct name is stored once for the life of the process; a
//! long-running process (the language server) therefore keeps every distinct name it has ever
//! parsed, which grows with the vocabulary of the code edited, not with the number of edits.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Deref;
use std::sync::{Mutex, OnceLock, PoisonError};

/// An identifier's text, interned: cloning or comparing one is comparing two numbers. It derefs
/// to `str` and prints (with `{}` and `{:?}`) exactly as its text would.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Name(u32);

impl Name {
    /// The name for `text`, stored on first use.
    pub fn new(text: &str) -> Name {
        let mut index = INDEX.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(&n) = index.get(text) {
            return Name(n);
        }
        let n = u32::try_from(index.len()).expect("fewer than 2^32 distinct names");
        let text: &'static str = Box::leak(text.into());
        let (segment, offset) = locate(n);
        let stored = SEGMENTS[segment]
            .get_or_init(|| (0..FIRST << segment).map(|_| OnceLock::new()).collect())[offset]
            .set(text);
        debug_assert!(stored.is_ok(), "each slot is filled once, under the lock");
        index.insert(text, n);
        Name(n)
    }

    /// The text.
    pub fn as_str(&self) -> &'static str {
        let (segment, offset) = locate(self.0);
        SEGMENTS[segment]
            .get()
            .and_then(|slots| slots[offset].get())
            .expect("a name's text is stored before the name exists")
    }
}

impl Deref for Name {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<Name> for &str {
    fn eq(&self, other: &Name) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<Name> for String {
    fn eq(&self, other: &Name) -> bool {
        self == other.as_str()
    }
}

impl From<Name> for String {
    fn from(name: Name) -> String {
        name.as_str().to_string()
    }
}

/// The texts live in segments that are allocated once and never move: segment `k` holds
/// `FIRST << k` slots, so 23 of them hold every `u32`. Reading a name's text takes no lock.
const FIRST: usize = 1024;

type Segment = Box<[OnceLock<&'static str>]>;

static SEGMENTS: [OnceLock<Segment>; 23] = [const { OnceLock::new() }; 23];

/// From text to number, for interning; taken only when a name is created.
static INDEX: Mutex<HashMap<&'static str, u32, FxBuildHasher>> =
    Mutex::new(HashMap::with_hasher(BuildHasherDefault::new()));

/// The segment and slot of name number `n`.
fn locate(n: u32) -> (usize, usize) {
    let block = n as usize / FIRST + 1;
    let segment = (usize::BITS - 1 - block.leading_zeros()) as usize;
    (segment, n as usize - FIRST * ((1 << segment) - 1))
}

/// A `HashMap` hasher for short keys, such as names.
pub type FxBuildHasher = BuildHasherDefault<FxHasher>;

/// The hash of rustc's interners: a rotate, a xor and a multiply per word. Fast for short keys,
/// and not resistant to chosen collisions, which names in a program need not be.
#[derive(Default)]
pub struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            self.add(u64::from_le_bytes(word.try_into().expect("8 bytes")));
        }
        let rest = words.remainder();
        let mut tail = [0u8; 8];
        tail[..rest.len()].copy_from_slice(rest);
        self.add(u64::from_le_bytes(tail) ^ rest.len() as u64);
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_share_one_name() {
        let a = Name::new("total_count");
        let b = Name::new(&String::from("total_count"));
        assert_eq!(a, b);
        assert_ne!(a, Name::new("total"));
        assert_eq!(a, "total_count");
        assert_eq!(format!("{a} {a:?}"), "total_count \"total_count\"");
    }

    #[test]
    fn segments_tile_the_numbers() {
        assert_eq!(locate(0), (0, 0));
        assert_eq!(locate(1023), (0, 1023));
        assert_eq!(locate(1024), (1, 0));
        assert_eq!(locate(3071), (1, 2047));
        assert_eq!(locate(3072), (2, 0));
        assert_eq!(locate(u32::MAX), (22, FIRST - 1));
    }

    #[test]
    fn many_names_keep_their_texts() {
        let names: Vec<Name> = (0..5000).map(|i| Name::new(&format!("n{i}"))).collect();
        for (i, name) in names.iter().enumerate() {
            assert_eq!(name.as_str(), format!("n{i}"));
        }
    }
}

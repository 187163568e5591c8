//! The pickle virtual machine: runs the opcodes of protocols 0-5 into a tree of `Node`s.

use std::borrow::Cow;
use std::collections::HashMap;

use super::*;

// ---------------------------------------------------------------------------------------------
// Reading: the pickle machine
// ---------------------------------------------------------------------------------------------

/// A Python object the reader built. Containers hold node ids, so memoized objects are shared and
/// mutated in place as in CPython's unpickler.
#[derive(Debug)]
pub(super) enum Node<'a> {
    None,
    Bool(bool),
    Int(i64),
    /// An int beyond 64 bits.
    BigInt,
    Float(f64),
    Str(Cow<'a, str>),
    Bytes(Cow<'a, [u8]>),
    List(Vec<u32>),
    Tuple(Vec<u32>),
    /// A dict of up to three items (most records), without an allocation of its own.
    SmallDict(u8, [(u32, u32); 3]),
    Dict(Vec<(u32, u32)>),
    Set(Vec<u32>, bool),
    /// `datetime.datetime`, in microseconds since the epoch, UTC.
    Datetime(i64),
    /// `datetime.timedelta`, in microseconds.
    Timedelta(i64),
    /// `datetime.timezone`, its UTC offset in microseconds.
    Timezone(i64),
    /// A module global (a class or function): `module.name`.
    Global(Box<str>),
    /// `pickle.loads(b"…")`: a pickle inside this one (how an extern value nests).
    Pickled(Cow<'a, [u8]>),
    /// An instance of a class, with its constructor arguments and `__setstate__` state.
    Object(Box<Object>),
}

impl Node<'_> {
    const EMPTY_DICT: Node<'static> = Node::SmallDict(0, [(0, 0); 3]);

    /// A dict's items, in insertion order.
    pub(super) fn dict_pairs(&self) -> Option<&[(u32, u32)]> {
        match self {
            Node::SmallDict(n, pairs) => Some(&pairs[..*n as usize]),
            Node::Dict(pairs) => Some(pairs),
            _ => None,
        }
    }

    /// Adds the `key, value, key, value…` items of `flat` to a dict; false if this is no dict.
    pub(super) fn dict_extend(&mut self, flat: &[u32]) -> bool {
        let pairs = flat.chunks_exact(2).map(|p| (p[0], p[1]));
        match self {
            Node::SmallDict(n, inline) if *n as usize + flat.len() / 2 <= inline.len() => {
                for p in pairs {
                    inline[*n as usize] = p;
                    *n += 1;
                }
            }
            Node::SmallDict(n, inline) => {
                let mut all = Vec::with_capacity(*n as usize + flat.len() / 2);
                all.extend_from_slice(&inline[..*n as usize]);
                all.extend(pairs);
                *self = Node::Dict(all);
            }
            Node::Dict(all) => all.extend(pairs),
            _ => return false,
        }
        true
    }
}

#[derive(Debug)]
pub(super) struct Object {
    pub(super) class: Box<str>,
    pub(super) args: Option<u32>,
    pub(super) state: Option<u32>,
}

pub(super) mod op {
    pub const MARK: u8 = b'(';
    pub const STOP: u8 = b'.';
    pub const POP: u8 = b'0';
    pub const POP_MARK: u8 = b'1';
    pub const DUP: u8 = b'2';
    pub const FLOAT: u8 = b'F';
    pub const INT: u8 = b'I';
    pub const BININT: u8 = b'J';
    pub const BININT1: u8 = b'K';
    pub const LONG: u8 = b'L';
    pub const BININT2: u8 = b'M';
    pub const NONE: u8 = b'N';
    pub const PERSID: u8 = b'P';
    pub const BINPERSID: u8 = b'Q';
    pub const REDUCE: u8 = b'R';
    pub const STRING: u8 = b'S';
    pub const BINSTRING: u8 = b'T';
    pub const SHORT_BINSTRING: u8 = b'U';
    pub const UNICODE: u8 = b'V';
    pub const BINUNICODE: u8 = b'X';
    pub const APPEND: u8 = b'a';
    pub const BUILD: u8 = b'b';
    pub const GLOBAL: u8 = b'c';
    pub const DICT: u8 = b'd';
    pub const EMPTY_DICT: u8 = b'}';
    pub const APPENDS: u8 = b'e';
    pub const GET: u8 = b'g';
    pub const BINGET: u8 = b'h';
    pub const INST: u8 = b'i';
    pub const LONG_BINGET: u8 = b'j';
    pub const LIST: u8 = b'l';
    pub const EMPTY_LIST: u8 = b']';
    pub const OBJ: u8 = b'o';
    pub const PUT: u8 = b'p';
    pub const BINPUT: u8 = b'q';
    pub const LONG_BINPUT: u8 = b'r';
    pub const SETITEM: u8 = b's';
    pub const TUPLE: u8 = b't';
    pub const EMPTY_TUPLE: u8 = b')';
    pub const SETITEMS: u8 = b'u';
    pub const BINFLOAT: u8 = b'G';
    pub const PROTO: u8 = 0x80;
    pub const NEWOBJ: u8 = 0x81;
    pub const EXT1: u8 = 0x82;
    pub const EXT2: u8 = 0x83;
    pub const EXT4: u8 = 0x84;
    pub const TUPLE1: u8 = 0x85;
    pub const TUPLE2: u8 = 0x86;
    pub const TUPLE3: u8 = 0x87;
    pub const NEWTRUE: u8 = 0x88;
    pub const NEWFALSE: u8 = 0x89;
    pub const LONG1: u8 = 0x8a;
    pub const LONG4: u8 = 0x8b;
    pub const BINBYTES: u8 = b'B';
    pub const SHORT_BINBYTES: u8 = b'C';
    pub const SHORT_BINUNICODE: u8 = 0x8c;
    pub const BINUNICODE8: u8 = 0x8d;
    pub const BINBYTES8: u8 = 0x8e;
    pub const EMPTY_SET: u8 = 0x8f;
    pub const ADDITEMS: u8 = 0x90;
    pub const FROZENSET: u8 = 0x91;
    pub const NEWOBJ_EX: u8 = 0x92;
    pub const STACK_GLOBAL: u8 = 0x93;
    pub const MEMOIZE: u8 = 0x94;
    pub const FRAME: u8 = 0x95;
    pub const BYTEARRAY8: u8 = 0x96;
    pub const NEXT_BUFFER: u8 = 0x97;
    pub const READONLY_BUFFER: u8 = 0x98;
}

/// The unpickler: a stack machine over node ids.
pub(super) struct Machine<'a> {
    data: &'a [u8],
    pos: usize,
    /// Where the current opcode started, for errors.
    at: usize,
    pub(super) nodes: Vec<Node<'a>>,
    stack: Vec<u32>,
    marks: Vec<usize>,
    memo: Vec<u32>,
    sparse_memo: HashMap<u32, u32>,
    memo_len: usize,
}

pub(super) const NO_MEMO: u32 = u32::MAX;

pub(super) type Parsed<T> = Result<T, PickleError>;

impl<'a> Machine<'a> {
    /// A machine for `data`, with this thread's pooled node buffer.
    pub(super) fn new(data: &'a [u8]) -> Machine<'a> {
        Machine::with_nodes(data, NODE_POOL.take())
    }

    /// A machine for `data` that builds its nodes in the (emptied) buffer `nodes`.
    pub(super) fn with_nodes(data: &'a [u8], nodes: Vec<Node<'_>>) -> Machine<'a> {
        Machine {
            data,
            pos: 0,
            at: 0,
            nodes: {
                let mut nodes = recycle(nodes);
                nodes.reserve(data.len() / 8 + 4);
                nodes
            },
            stack: Vec::with_capacity(64),
            marks: Vec::with_capacity(16),
            memo: Vec::new(),
            sparse_memo: HashMap::new(),
            memo_len: 0,
        }
    }

    /// Gives the node buffer back to the thread's pool.
    pub(super) fn release(self) {
        if self.nodes.capacity() <= POOL_MAX_NODES {
            NODE_POOL.set(recycle(self.nodes));
        }
    }

    /// The node buffer, emptied, for another machine.
    pub(super) fn into_nodes(self) -> Vec<Node<'static>> {
        recycle(self.nodes)
    }

    pub(super) fn malformed<T>(&self, message: impl Into<String>) -> Parsed<T> {
        Err(PickleError::Malformed {
            offset: self.at,
            message: message.into(),
        })
    }

    pub(super) fn unsupported<T>(&self, feature: &str) -> Parsed<T> {
        Err(PickleError::Unsupported {
            offset: self.at,
            feature: feature.to_string(),
        })
    }

    #[inline]
    pub(super) fn take(&mut self, n: usize) -> Parsed<&'a [u8]> {
        let data = self.data;
        match self.pos.checked_add(n) {
            Some(end) if end <= data.len() => {
                let s = &data[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            _ => self.malformed("the pickle ends in the middle of an opcode (truncated file?)"),
        }
    }

    #[inline]
    pub(super) fn byte(&mut self) -> Parsed<u8> {
        Ok(self.take(1)?[0])
    }

    #[inline]
    pub(super) fn u32_le(&mut self) -> Parsed<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(super) fn u64_len(&mut self) -> Parsed<usize> {
        let b = self.take(8)?;
        let n = u64::from_le_bytes(b.try_into().expect("8 bytes"));
        usize::try_from(n).or_else(|_| self.malformed("a length beyond memory"))
    }

    pub(super) fn line(&mut self) -> Parsed<&'a [u8]> {
        let data = self.data;
        let rest = &data[self.pos..];
        match rest.iter().position(|&c| c == b'\n') {
            Some(n) => {
                self.pos += n + 1;
                let l = &rest[..n];
                Ok(l.strip_suffix(b"\r").unwrap_or(l))
            }
            None => self.malformed("a text opcode without its newline (truncated file?)"),
        }
    }

    #[inline]
    pub(super) fn push(&mut self, node: Node<'a>) {
        let id = self.nodes.len() as u32;
        self.nodes.push(node);
        self.stack.push(id);
    }

    #[inline]
    pub(super) fn pop(&mut self) -> Parsed<u32> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() > floor {
            Ok(self.stack.pop().expect("stack above the mark"))
        } else {
            self.malformed("pickle stack underflow")
        }
    }

    pub(super) fn top(&self) -> Parsed<u32> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() > floor {
            Ok(*self.stack.last().expect("stack above the mark"))
        } else {
            self.malformed("pickle stack underflow")
        }
    }

    /// Pops the items above the topmost mark, and the mark.
    pub(super) fn pop_mark(&mut self) -> Parsed<Vec<u32>> {
        match self.marks.pop() {
            Some(m) => Ok(self.stack.split_off(m)),
            None => self.malformed("a MARK was expected on the pickle stack"),
        }
    }

    /// The topmost mark's stack position, for opcodes that consume the items above it in place.
    pub(super) fn mark_floor(&mut self) -> Parsed<usize> {
        match self.marks.pop() {
            Some(m) => Ok(m),
            None => self.malformed("a MARK was expected on the pickle stack"),
        }
    }

    pub(super) fn str_node(&self, bytes: &'a [u8]) -> Parsed<Node<'a>> {
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(Node::Str(Cow::Borrowed(s))),
            Err(_) => self.malformed("a string that is not UTF-8"),
        }
    }

    /// A Python 2 `str`: text when it is UTF-8 (CPython 3 reads it as ASCII), else bytes.
    pub(super) fn py2_str(bytes: Cow<'a, [u8]>) -> Node<'a> {
        match bytes {
            Cow::Borrowed(b) => match std::str::from_utf8(b) {
                Ok(s) => Node::Str(Cow::Borrowed(s)),
                Err(_) => Node::Bytes(Cow::Borrowed(b)),
            },
            Cow::Owned(b) => match String::from_utf8(b) {
                Ok(s) => Node::Str(Cow::Owned(s)),
                Err(e) => Node::Bytes(Cow::Owned(e.into_bytes())),
            },
        }
    }

    pub(super) fn memo_put(&mut self, key: u32) -> Parsed<()> {
        let id = self.top()?;
        let k = key as usize;
        if k < self.memo.len() {
            if self.memo[k] == NO_MEMO {
                self.memo_len += 1;
            }
            self.memo[k] = id;
        } else if k <= self.nodes.len() + 1024 {
            self.memo.resize(k + 1, NO_MEMO);
            self.memo[k] = id;
            self.memo_len += 1;
        } else if self.sparse_memo.insert(key, id).is_none() {
            self.memo_len += 1;
        }
        Ok(())
    }

    pub(super) fn memo_get(&mut self, key: u32) -> Parsed<()> {
        let id = match self.memo.get(key as usize) {
            Some(&id) if id != NO_MEMO => Some(id),
            _ => self.sparse_memo.get(&key).copied(),
        };
        match id {
            Some(id) => {
                self.stack.push(id);
                Ok(())
            }
            None => self.malformed(format!("memo key {key} is used before it is set")),
        }
    }

    pub(super) fn ascii_line(&mut self) -> Parsed<&'a str> {
        let l = self.line()?;
        match std::str::from_utf8(l) {
            Ok(s) => Ok(s),
            Err(_) => self.malformed("a text opcode argument that is not ASCII"),
        }
    }

    /// Runs the pickle to its STOP and returns the root node's id.
    pub(super) fn run(&mut self) -> Parsed<u32> {
        use op::*;
        loop {
            self.at = self.pos;
            let code = match self.data.get(self.pos) {
                Some(&c) => c,
                None => {
                    return self
                        .malformed("the pickle ends without a STOP opcode (truncated file?)")
                }
            };
            self.pos += 1;
            match code {
                PROTO => {
                    let p = self.byte()?;
                    if p > 5 {
                        return self.unsupported(&format!(
                            "pickle protocol {p} (Flow reads protocols 0 to 5)"
                        ));
                    }
                }
                FRAME => {
                    self.take(8)?;
                }
                STOP => {
                    let root = self.pop()?;
                    if self.pos != self.data.len() {
                        self.at = self.pos;
                        return self.malformed(
                            "bytes after the pickle's end (a file holding several pickles?)",
                        );
                    }
                    return Ok(root);
                }
                MARK => self.marks.push(self.stack.len()),
                POP => {
                    let floor = self.marks.last().copied().unwrap_or(0);
                    if self.stack.len() > floor {
                        self.stack.pop();
                    } else {
                        self.pop_mark()?;
                    }
                }
                POP_MARK => {
                    self.pop_mark()?;
                }
                DUP => {
                    let t = self.top()?;
                    self.stack.push(t);
                }
                PUT => {
                    let l = self.ascii_line()?;
                    match l.parse() {
                        Ok(k) => self.memo_put(k)?,
                        Err(_) => return self.malformed("a PUT without a memo key"),
                    }
                }
                BINPUT => {
                    let k = self.byte()?;
                    self.memo_put(u32::from(k))?;
                }
                LONG_BINPUT => {
                    let k = self.u32_le()?;
                    self.memo_put(k)?;
                }
                MEMOIZE => {
                    let k = self.memo_len as u32;
                    self.memo_put(k)?;
                }
                GET => {
                    let l = self.ascii_line()?;
                    match l.parse() {
                        Ok(k) => self.memo_get(k)?,
                        Err(_) => return self.malformed("a GET without a memo key"),
                    }
                }
                BINGET => {
                    let k = self.byte()?;
                    self.memo_get(u32::from(k))?;
                }
                LONG_BINGET => {
                    let k = self.u32_le()?;
                    self.memo_get(k)?;
                }
                NONE => self.push(Node::None),
                NEWTRUE => self.push(Node::Bool(true)),
                NEWFALSE => self.push(Node::Bool(false)),
                INT => {
                    let l = self.ascii_line()?;
                    let node = match l {
                        "01" => Node::Bool(true),
                        "00" => Node::Bool(false),
                        _ => self.text_int(l)?,
                    };
                    self.push(node);
                }
                LONG => {
                    let l = self.ascii_line()?;
                    let node = self.text_int(l.strip_suffix('L').unwrap_or(l))?;
                    self.push(node);
                }
                FLOAT => {
                    let l = self.ascii_line()?;
                    match l.trim().parse::<f64>() {
                        Ok(x) => self.push(Node::Float(x)),
                        Err(_) => return self.malformed(format!("`{l}` is not a float")),
                    }
                }
                BINFLOAT => {
                    let b = self.take(8)?;
                    self.push(Node::Float(f64::from_be_bytes(
                        b.try_into().expect("8 bytes"),
                    )));
                }
                BININT => {
                    let b = self.take(4)?;
                    self.push(Node::Int(i64::from(i32::from_le_bytes(
                        b.try_into().expect("4 bytes"),
                    ))));
                }
                BININT1 => {
                    let b = self.byte()?;
                    self.push(Node::Int(i64::from(b)));
                }
                BININT2 => {
                    let b = self.take(2)?;
                    self.push(Node::Int(i64::from(u16::from_le_bytes([b[0], b[1]]))));
                }
                LONG1 => {
                    let n = self.byte()? as usize;
                    let b = self.take(n)?;
                    self.push(binary_long(b));
                }
                LONG4 => {
                    let n = self.u32_le()? as i32;
                    if n < 0 {
                        return self.malformed("a negative length");
                    }
                    let b = self.take(n as usize)?;
                    self.push(binary_long(b));
                }
                SHORT_BINUNICODE => {
                    let n = self.byte()? as usize;
                    let b = self.take(n)?;
                    let node = self.str_node(b)?;
                    self.push(node);
                }
                BINUNICODE => {
                    let n = self.u32_le()? as usize;
                    let b = self.take(n)?;
                    let node = self.str_node(b)?;
                    self.push(node);
                }
                BINUNICODE8 => {
                    let n = self.u64_len()?;
                    let b = self.take(n)?;
                    let node = self.str_node(b)?;
                    self.push(node);
                }
                UNICODE => {
                    let l = self.line()?;
                    match raw_unicode_unescape(l) {
                        Some(s) => self.push(Node::Str(Cow::Owned(s))),
                        None => return self.malformed("a badly escaped UNICODE string"),
                    }
                }
                SHORT_BINBYTES => {
                    let n = self.byte()? as usize;
                    let b = self.take(n)?;
                    self.push(Node::Bytes(Cow::Borrowed(b)));
                }
                BINBYTES => {
                    let n = self.u32_le()? as usize;
                    let b = self.take(n)?;
                    self.push(Node::Bytes(Cow::Borrowed(b)));
                }
                BINBYTES8 | BYTEARRAY8 => {
                    let n = self.u64_len()?;
                    let b = self.take(n)?;
                    self.push(Node::Bytes(Cow::Borrowed(b)));
                }
                SHORT_BINSTRING => {
                    let n = self.byte()? as usize;
                    let b = self.take(n)?;
                    self.push(Self::py2_str(Cow::Borrowed(b)));
                }
                BINSTRING => {
                    let n = self.u32_le()? as i32;
                    if n < 0 {
                        return self.malformed("a negative length");
                    }
                    let b = self.take(n as usize)?;
                    self.push(Self::py2_str(Cow::Borrowed(b)));
                }
                STRING => {
                    let l = self.line()?;
                    match string_unescape(l) {
                        Some(b) => self.push(Self::py2_str(Cow::Owned(b))),
                        None => return self.malformed("a badly quoted STRING"),
                    }
                }
                EMPTY_TUPLE => self.push(Node::Tuple(Vec::new())),
                TUPLE1 => {
                    let a = self.pop()?;
                    self.push(Node::Tuple(vec![a]));
                }
                TUPLE2 => {
                    let b = self.pop()?;
                    let a = self.pop()?;
                    self.push(Node::Tuple(vec![a, b]));
                }
                TUPLE3 => {
                    let c = self.pop()?;
                    let b = self.pop()?;
                    let a = self.pop()?;
                    self.push(Node::Tuple(vec![a, b, c]));
                }
                TUPLE => {
                    let items = self.pop_mark()?;
                    self.push(Node::Tuple(items));
                }
                EMPTY_LIST => self.push(Node::List(Vec::new())),
                LIST => {
                    let items = self.pop_mark()?;
                    self.push(Node::List(items));
                }
                APPEND => {
                    let v = self.pop()?;
                    let l = self.top()?;
                    match &mut self.nodes[l as usize] {
                        Node::List(items) => items.push(v),
                        _ => return self.malformed("APPEND to something that is not a list"),
                    }
                }
                APPENDS => {
                    let floor = self.mark_floor()?;
                    if floor == 0 || floor <= self.marks.last().copied().unwrap_or(0) {
                        return self.malformed("APPENDS without a list below its mark");
                    }
                    let l = self.stack[floor - 1];
                    match &mut self.nodes[l as usize] {
                        Node::List(items) => items.extend_from_slice(&self.stack[floor..]),
                        _ => return self.malformed("APPENDS to something that is not a list"),
                    }
                    self.stack.truncate(floor);
                }
                EMPTY_DICT => self.push(Node::EMPTY_DICT),
                DICT => {
                    let items = self.pop_mark()?;
                    if !items.len().is_multiple_of(2) {
                        return self.malformed("DICT with an odd number of items");
                    }
                    let mut dict = Node::EMPTY_DICT;
                    dict.dict_extend(&items);
                    self.push(dict);
                }
                SETITEM => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    let d = self.top()?;
                    if !self.nodes[d as usize].dict_extend(&[k, v]) {
                        return self.malformed("SETITEM on something that is not a dict");
                    }
                }
                SETITEMS => {
                    let floor = self.mark_floor()?;
                    if floor == 0 || floor <= self.marks.last().copied().unwrap_or(0) {
                        return self.malformed("SETITEMS without a dict below its mark");
                    }
                    if !(self.stack.len() - floor).is_multiple_of(2) {
                        return self.malformed("SETITEMS with an odd number of items");
                    }
                    let d = self.stack[floor - 1];
                    if !self.nodes[d as usize].dict_extend(&self.stack[floor..]) {
                        return self.malformed("SETITEMS on something that is not a dict");
                    }
                    self.stack.truncate(floor);
                }
                EMPTY_SET => self.push(Node::Set(Vec::new(), false)),
                FROZENSET => {
                    let items = self.pop_mark()?;
                    self.push(Node::Set(items, true));
                }
                ADDITEMS => {
                    let floor = self.mark_floor()?;
                    if floor == 0 || floor <= self.marks.last().copied().unwrap_or(0) {
                        return self.malformed("ADDITEMS without a set below its mark");
                    }
                    let s = self.stack[floor - 1];
                    match &mut self.nodes[s as usize] {
                        Node::Set(items, _) => items.extend_from_slice(&self.stack[floor..]),
                        _ => return self.malformed("ADDITEMS on something that is not a set"),
                    }
                    self.stack.truncate(floor);
                }
                GLOBAL => {
                    let module = self.ascii_line()?;
                    let name = self.ascii_line()?;
                    self.push(Node::Global(format!("{module}.{name}").into()));
                }
                STACK_GLOBAL => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (&self.nodes[module as usize], &self.nodes[name as usize]) {
                        (Node::Str(m), Node::Str(n)) => {
                            let g = format!("{m}.{n}").into();
                            self.push(Node::Global(g));
                        }
                        _ => return self.malformed("STACK_GLOBAL without two strings"),
                    }
                }
                REDUCE => {
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    let node = self.reduce(callable, args)?;
                    self.push(node);
                }
                NEWOBJ => {
                    let args = self.pop()?;
                    let class = self.pop()?;
                    let node = self.object(class, Some(args));
                    self.push(node);
                }
                NEWOBJ_EX => {
                    let _kwargs = self.pop()?;
                    let args = self.pop()?;
                    let class = self.pop()?;
                    let node = self.object(class, Some(args));
                    self.push(node);
                }
                OBJ => {
                    let items = self.pop_mark()?;
                    let Some((&class, args)) = items.split_first() else {
                        return self.malformed("OBJ without a class");
                    };
                    let args = args.to_vec();
                    let args_id = self.nodes.len() as u32;
                    self.nodes.push(Node::Tuple(args));
                    let node = self.object(class, Some(args_id));
                    self.push(node);
                }
                INST => {
                    let module = self.ascii_line()?;
                    let name = self.ascii_line()?;
                    let items = self.pop_mark()?;
                    let args_id = self.nodes.len() as u32;
                    self.nodes.push(Node::Tuple(items));
                    self.push(Node::Object(Box::new(Object {
                        class: format!("{module}.{name}").into(),
                        args: Some(args_id),
                        state: None,
                    })));
                }
                BUILD => {
                    let state = self.pop()?;
                    let target = self.top()?;
                    match &mut self.nodes[target as usize] {
                        Node::Object(o) => o.state = Some(state),
                        // `__setstate__` of builtin values that CPython's pickler never emits.
                        _ => return self.malformed("BUILD on something that is not an object"),
                    }
                }
                PERSID | BINPERSID => return self.unsupported("persistent ids"),
                EXT1 | EXT2 | EXT4 => return self.unsupported("the extension registry (copyreg)"),
                NEXT_BUFFER | READONLY_BUFFER => {
                    return self.unsupported("out-of-band buffers (pickle protocol 5)")
                }
                other => return self.malformed(format!("unknown opcode 0x{other:02x}")),
            }
        }
    }

    pub(super) fn text_int(&self, text: &str) -> Parsed<Node<'a>> {
        let t = text.trim();
        match t.parse::<i64>() {
            Ok(i) => Ok(Node::Int(i)),
            Err(_)
                if !t.is_empty()
                    && t.trim_start_matches(['-', '+'])
                        .bytes()
                        .all(|c| c.is_ascii_digit()) =>
            {
                Ok(Node::BigInt)
            }
            Err(_) => self.malformed(format!("`{text}` is not an int")),
        }
    }

    pub(super) fn class_name(&self, class: u32) -> Box<str> {
        match &self.nodes[class as usize] {
            Node::Global(g) => g.clone(),
            _ => "<unknown class>".into(),
        }
    }

    pub(super) fn object(&self, class: u32, args: Option<u32>) -> Node<'a> {
        Node::Object(Box::new(Object {
            class: self.class_name(class),
            args,
            state: None,
        }))
    }

    pub(super) fn tuple_items(&self, id: u32) -> Option<&[u32]> {
        match &self.nodes[id as usize] {
            Node::Tuple(items) => Some(items),
            _ => None,
        }
    }

    /// `callable(*args)` for the callables builtin pickles use; any other call is an object.
    pub(super) fn reduce(&mut self, callable: u32, args: u32) -> Parsed<Node<'a>> {
        let name: &str = match &self.nodes[callable as usize] {
            Node::Global(g) => g,
            _ => return Ok(self.object(callable, Some(args))),
        };
        let Some(argv) = self.tuple_items(args) else {
            return self.malformed("REDUCE without an argument tuple");
        };
        let argv = argv.to_vec();
        let arg = |i: usize| argv.get(i).map(|&a| &self.nodes[a as usize]);
        let node = match (name, argv.len()) {
            ("builtins.set" | "__builtin__.set", 0) => Node::Set(Vec::new(), false),
            ("builtins.frozenset" | "__builtin__.frozenset", 0) => Node::Set(Vec::new(), true),
            (
                "builtins.set" | "__builtin__.set" | "builtins.frozenset" | "__builtin__.frozenset",
                1,
            ) => match arg(0) {
                Some(Node::List(items) | Node::Tuple(items)) => {
                    Node::Set(items.clone(), name.ends_with("frozenset"))
                }
                _ => return self.malformed("set() of something that is not a list"),
            },
            ("builtins.list" | "__builtin__.list", 1) => match arg(0) {
                Some(Node::List(items) | Node::Tuple(items)) => Node::List(items.clone()),
                _ => return self.malformed("list() of something that is not a list"),
            },
            (
                "builtins.bytes"
                | "__builtin__.bytes"
                | "builtins.bytearray"
                | "__builtin__.bytearray",
                0,
            ) => Node::Bytes(Cow::Borrowed(&[])),
            ("builtins.bytearray" | "__builtin__.bytearray", _) | ("_codecs.encode", 2) => {
                match arg(0) {
                    Some(Node::Bytes(b)) => Node::Bytes(b.clone()),
                    Some(Node::Str(s)) => match latin1(s) {
                        Some(b) => Node::Bytes(Cow::Owned(b)),
                        None => return self.malformed("bytes as a string beyond latin-1"),
                    },
                    _ => return self.malformed("bytes of something that is not a string"),
                }
            }
            ("pickle.loads" | "_pickle.loads", 1) => match arg(0) {
                Some(Node::Bytes(b)) => Node::Pickled(b.clone()),
                _ => self.object(callable, Some(args)),
            },
            ("datetime.timedelta", _) => {
                let part = |i| match arg(i) {
                    Some(Node::Int(v)) => Some(*v),
                    None => Some(0),
                    _ => None,
                };
                match (part(0), part(1), part(2)) {
                    (Some(d), Some(s), Some(us)) => d
                        .checked_mul(US_PER_DAY)
                        .and_then(|d| d.checked_add(s.checked_mul(1_000_000)?))
                        .and_then(|t| t.checked_add(us))
                        .map_or_else(|| self.object(callable, Some(args)), Node::Timedelta),
                    _ => self.object(callable, Some(args)),
                }
            }
            ("copy_reg._reconstructor" | "copyreg._reconstructor", 3) => self.object(argv[0], None),
            // Their items follow as SETITEMS.
            ("collections.OrderedDict" | "collections.defaultdict", _) => Node::EMPTY_DICT,
            // `getattr(Color, "Red")`: how newer Pythons pickle some enum members.
            ("builtins.getattr" | "__builtin__.getattr", 2)
                if matches!(arg(1), Some(Node::Str(_))) =>
            {
                let class = self.class_name(argv[0]);
                let args = self.nodes.len() as u32;
                self.nodes.push(Node::Tuple(vec![argv[1]]));
                Node::Object(Box::new(Object {
                    class,
                    args: Some(args),
                    state: None,
                }))
            }
            ("datetime.timezone", 1 | 2) => match arg(0) {
                Some(Node::Timedelta(off)) => Node::Timezone(*off),
                _ => self.object(callable, Some(args)),
            },
            ("datetime.datetime", 1 | 2) => {
                let offset = match arg(1) {
                    None | Some(Node::None) => Some(0),
                    Some(Node::Timezone(off)) => Some(*off),
                    _ => None,
                };
                let state = match arg(0) {
                    Some(Node::Bytes(b)) => Some(b.to_vec()),
                    Some(Node::Str(s)) => latin1(s),
                    _ => None,
                };
                match (state.as_deref().and_then(datetime_state), offset) {
                    (Some(t), Some(off)) => Node::Datetime(t - off),
                    _ => self.object(callable, Some(args)),
                }
            }
            _ => self.object(callable, Some(args)),
        };
        Ok(node)
    }
}

/// The microseconds of CPython's 10-byte `datetime` state.
pub(super) fn datetime_state(b: &[u8]) -> Option<i64> {
    if b.len() != 10 {
        return None;
    }
    let year = i64::from(b[0]) * 256 + i64::from(b[1]);
    let month = u32::from(b[2] & 0x7f);
    let day = u32::from(b[3]);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let secs = (i64::from(b[4]) * 60 + i64::from(b[5])) * 60 + i64::from(b[6]);
    let us = (i64::from(b[7]) << 16) | (i64::from(b[8]) << 8) | i64::from(b[9]);
    Some(days_from_civil(year, month, day) * US_PER_DAY + secs * 1_000_000 + us)
}

pub(super) fn latin1(s: &str) -> Option<Vec<u8>> {
    s.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect()
}

/// A little-endian two's complement int of LONG1/LONG4.
pub(super) fn binary_long(b: &[u8]) -> Node<'static> {
    if b.is_empty() {
        return Node::Int(0);
    }
    let negative = b[b.len() - 1] & 0x80 != 0;
    let fill = if negative { 0xff } else { 0 };
    if b.len() > 8 && (b[8..].iter().any(|&c| c != fill) || (b[7] & 0x80 != 0) != negative) {
        return Node::BigInt;
    }
    let mut buf = [fill; 8];
    let n = b.len().min(8);
    buf[..n].copy_from_slice(&b[..n]);
    Node::Int(i64::from_le_bytes(buf))
}

/// The text of a protocol-0 UNICODE opcode (`raw-unicode-escape`).
pub(super) fn raw_unicode_unescape(l: &[u8]) -> Option<String> {
    let mut out = String::with_capacity(l.len());
    let mut i = 0;
    while i < l.len() {
        let c = l[i];
        if c == b'\\' && matches!(l.get(i + 1), Some(b'u' | b'U')) {
            let n = if l[i + 1] == b'u' { 4 } else { 8 };
            let hex = std::str::from_utf8(l.get(i + 2..i + 2 + n)?).ok()?;
            out.push(char::from_u32(u32::from_str_radix(hex, 16).ok()?)?);
            i += 2 + n;
        } else {
            out.push(char::from(c));
            i += 1;
        }
    }
    Some(out)
}

/// The bytes of a protocol-0 STRING opcode: a quoted Python 2 `repr`.
pub(super) fn string_unescape(l: &[u8]) -> Option<Vec<u8>> {
    let q = *l.first()?;
    if l.len() < 2 || !matches!(q, b'\'' | b'"') || l[l.len() - 1] != q {
        return None;
    }
    let l = &l[1..l.len() - 1];
    let mut out = Vec::with_capacity(l.len());
    let mut i = 0;
    while i < l.len() {
        if l[i] != b'\\' {
            out.push(l[i]);
            i += 1;
            continue;
        }
        let e = *l.get(i + 1)?;
        i += 2;
        match e {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'v' => out.push(11),
            b'\\' | b'\'' | b'"' => out.push(e),
            b'\n' => {}
            b'x' => {
                let hex = std::str::from_utf8(l.get(i..i + 2)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b'0'..=b'7' => {
                let mut v = u32::from(e - b'0');
                let mut k = 0;
                while k < 2 && matches!(l.get(i), Some(b'0'..=b'7')) {
                    v = v * 8 + u32::from(l[i] - b'0');
                    i += 1;
                    k += 1;
                }
                out.push(v as u8);
            }
            _ => {
                out.push(b'\\');
                out.push(e);
            }
        }
    }
    Some(out)
}

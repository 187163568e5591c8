//! flytec's pickle codec (`src/pickle`) beside serde-pickle's, in one process and one run, on the
//! list of the project's pickle benchmark (`bench/run_bench.py`): 1,000,000 values of
//! `class People { name: str }` named `person{i}`, as `list[People] @batch(10000)`, that is 100
//! files of 10,000 items.
//!
//!     cargo bench --bench pickle_codecs
//!
//! serde-pickle writes the same `Value`s through a `Serialize` adapter (a record as the dict of
//! its fields, as flytec writes it), one protocol-3 file per batch. Reading is timed both as
//! serde-pickle's generic `Value` (what a reader of arbitrary pickles gets, before any conversion
//! to Flow values) and straight into `Vec<Person>` of a derived struct (the fastest serde path;
//! still no Flow values). flytec's `decode_batches` builds the Flow values. Each figure is the
//! median of a few runs after a warm-up; results are checked (item counts and contents), never
//! the times. Both sides use mimalloc, the allocator of the `flytec` binary.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use flytec::check::types::{DeclKind, Decls, FieldSig, Type};
use flytec::pickle::{decode_batches, encode_batches};
use flytec::value::{Record, Value};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Serialize, Serializer};
use serde_pickle::{DeOptions, SerOptions};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ITEMS: usize = 1_000_000;
const BATCH: usize = 10_000;
/// Timed runs of each measurement (after one untimed warm-up); the median is reported.
const RUNS: usize = 5;

/// A Flow value as serde-pickle serializes it: what flytec's writer does, through serde.
struct AsPython<'a>(&'a Value);

impl Serialize for AsPython<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Str(s) => ser.serialize_str(s),
            Value::Int(i) => ser.serialize_i64(*i),
            Value::List(items) => AsPythonList(items).serialize(ser),
            Value::Record(r) => {
                let mut map = ser.serialize_map(Some(r.fields.len()))?;
                for (k, v) in &r.fields {
                    map.serialize_entry(&**k, &AsPython(v))?;
                }
                map.end()
            }
            other => Err(serde::ser::Error::custom(format!(
                "this bench pickles records of str fields, not {other:?}"
            ))),
        }
    }
}

/// A batch of items, as the Python list of a batch file.
struct AsPythonList<'a>(&'a [Value]);

impl Serialize for AsPythonList<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut seq = ser.serialize_seq(Some(self.0.len()))?;
        for item in self.0 {
            seq.serialize_element(&AsPython(item))?;
        }
        seq.end()
    }
}

/// `class People { name: str }` as a serde struct: serde-pickle's typed reading.
#[derive(Deserialize)]
struct Person {
    name: String,
}

/// The median, fastest and slowest of `RUNS` timed runs of `f`, after one untimed run. What `f`
/// returns is dropped outside the timed region.
fn time<R>(mut f: impl FnMut() -> R) -> Timing {
    drop(black_box(f()));
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            let out = black_box(f());
            let elapsed = start.elapsed();
            drop(out);
            elapsed
        })
        .collect();
    times.sort();
    Timing {
        median: times[RUNS / 2],
        min: times[0],
        max: times[RUNS - 1],
    }
}

struct Timing {
    median: Duration,
    min: Duration,
    max: Duration,
}

impl Timing {
    fn ms(&self) -> f64 {
        self.median.as_secs_f64() * 1e3
    }
    fn shown(&self) -> String {
        format!(
            "{:.1} ms ({:.1}–{:.1})",
            self.ms(),
            self.min.as_secs_f64() * 1e3,
            self.max.as_secs_f64() * 1e3
        )
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn megabytes(files: &[Vec<u8>]) -> f64 {
    files.iter().map(Vec::len).sum::<usize>() as f64 / 1e6
}

/// Fails the bench unless `names` are `person0` … `person{ITEMS-1}` in order.
fn check_names<'a>(what: &str, names: impl Iterator<Item = &'a str>) {
    let mut count = 0;
    for (i, name) in names.enumerate() {
        assert_eq!(name, format!("person{i}"), "{what}: item {i}");
        count += 1;
    }
    assert_eq!(count, ITEMS, "{what}: item count");
}

fn flow_names(values: &[Value]) -> impl Iterator<Item = &str> {
    values.iter().map(|v| match v.field("name") {
        Some(Value::Str(s)) => &**s,
        other => panic!("not a People: {other:?}"),
    })
}

fn serde_names(batches: &[serde_pickle::Value]) -> impl Iterator<Item = &str> {
    use serde_pickle::{HashableValue, Value as V};
    let key = HashableValue::String("name".into());
    batches
        .iter()
        .flat_map(|b| match b {
            V::List(items) => items.iter(),
            other => panic!("not a list: {other:?}"),
        })
        .map(move |item| match item {
            V::Dict(d) => match d.get(&key) {
                Some(V::String(s)) => s.as_str(),
                other => panic!("no name: {other:?}"),
            },
            other => panic!("not a dict: {other:?}"),
        })
}

fn main() {
    let started = Instant::now();
    let load_before = load_average();

    // The list the interpreter would hold: records sharing their type and field names.
    let mut decls = Decls::default();
    let people = decls.declare(
        "People",
        DeclKind::Class(vec![FieldSig::new("name", Type::Str)]),
    );
    let (type_name, field): (Arc<str>, Arc<str>) = (Arc::from("People"), Arc::from("name"));
    let items: Vec<Value> = (0..ITEMS)
        .map(|i| {
            Value::Record(Arc::new(Record {
                type_name: type_name.clone(),
                fields: vec![(field.clone(), Value::str(format!("person{i}")))],
            }))
        })
        .collect();
    let batches: Vec<&[Value]> = items.chunks(BATCH).collect();

    // Writing.
    let flytec_files = encode_batches(&items, Some(BATCH as u32)).unwrap();
    let serde_write = |options: SerOptions| -> Vec<Vec<u8>> {
        batches
            .iter()
            .map(|b| serde_pickle::to_vec(&AsPythonList(b), options.clone()).unwrap())
            .collect()
    };
    let serde_files = serde_write(SerOptions::new());
    let serde_v2_files = serde_write(SerOptions::new().proto_v2());
    assert_eq!(flytec_files.len(), ITEMS / BATCH);
    assert_eq!(serde_files.len(), ITEMS / BATCH);
    let t_flytec_write = time(|| encode_batches(&items, Some(BATCH as u32)).unwrap());
    let t_flytec_write_1 = time(|| {
        batches
            .iter()
            .map(|b| encode_batches(b, None).unwrap().pop().unwrap())
            .collect::<Vec<_>>()
    });
    let t_serde_write = time(|| serde_write(SerOptions::new()));

    // Reading, each its own files and then the other's.
    let flytec_read = |files: &[Vec<u8>]| decode_batches(files, &people, &decls).unwrap();
    let serde_read = |files: &[Vec<u8>]| -> Vec<serde_pickle::Value> {
        files
            .iter()
            .map(|f| serde_pickle::value_from_slice(f, DeOptions::new()).unwrap())
            .collect()
    };
    let serde_read_typed = |files: &[Vec<u8>]| -> Vec<Vec<Person>> {
        files
            .iter()
            .map(|f| serde_pickle::from_slice(f, DeOptions::new()).unwrap())
            .collect()
    };
    check_names("flytec, own files", flow_names(&flytec_read(&flytec_files)));
    check_names(
        "flytec, serde-pickle's files",
        flow_names(&flytec_read(&serde_files)),
    );
    check_names(
        "serde-pickle, own files",
        serde_names(&serde_read(&serde_files)),
    );
    check_names(
        "serde-pickle, flytec's files",
        serde_names(&serde_read(&flytec_files)),
    );
    let typed = serde_read_typed(&serde_files);
    check_names(
        "serde-pickle typed, own files",
        typed.iter().flatten().map(|p| p.name.as_str()),
    );
    let t_flytec_read = time(|| flytec_read(&flytec_files));
    let t_serde_read = time(|| serde_read(&serde_files));
    let t_serde_read_typed = time(|| serde_read_typed(&serde_files));
    let t_flytec_read_theirs = time(|| flytec_read(&serde_files));
    let t_serde_read_theirs = time(|| serde_read(&flytec_files));

    let ratio = |a: f64, b: f64| format!("{:.2}", a / b);
    let row = |what: &str, flytec: &Timing, serde: &Timing| {
        println!(
            "| {what} | {} | {} | {} |",
            flytec.shown(),
            serde.shown(),
            ratio(flytec.ms(), serde.ms())
        );
    };
    println!(
        "\n{ITEMS} `People` records in {} files of {BATCH}, median of {RUNS} runs (fastest–slowest); \
         {} cores available; load average {load_before} before\n",
        ITEMS / BATCH,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
    );
    println!("| measurement | flytec | serde-pickle (baseline) | flytec ÷ serde-pickle |");
    println!("|---|---:|---:|---:|");
    row(
        "write the 100 files (flytec: `encode_batches`, files in parallel)",
        &t_flytec_write,
        &t_serde_write,
    );
    row(
        "write the 100 files, one thread each",
        &t_flytec_write_1,
        &t_serde_write,
    );
    let (mb_flytec, mb_serde) = (megabytes(&flytec_files), megabytes(&serde_files));
    println!(
        "| bytes written (flytec protocol 4; serde-pickle protocol 3, protocol 2: {:.2} MB) | {mb_flytec:.2} MB | {mb_serde:.2} MB | {} |",
        megabytes(&serde_v2_files),
        ratio(mb_flytec, mb_serde)
    );
    row(
        "read own files (flytec: Flow values; serde-pickle: its `Value`)",
        &t_flytec_read,
        &t_serde_read,
    );
    row(
        "read own files (serde-pickle: typed, `Vec<Person>`)",
        &t_flytec_read,
        &t_serde_read_typed,
    );
    row(
        "read the other's files (flytec: serde-pickle's; serde-pickle: flytec's, its `Value`)",
        &t_flytec_read_theirs,
        &t_serde_read_theirs,
    );
    println!(
        "\nload average {} after; whole bench {:.1} s",
        load_average(),
        started.elapsed().as_secs_f64()
    );
}

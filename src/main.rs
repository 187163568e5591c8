fn main() {
    let path = std::env::args().nth(1).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let mut errors = Vec::new();
    pest::set_error_detail(true);
    let m = flytec::syntax::parse(flytec::source::FileId(0), &text, &mut errors);
    println!("{} items, {} imports", m.items.len(), m.imports.len());
    for e in errors { println!("{:?}", e); }
}

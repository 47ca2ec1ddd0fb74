fn main() {
    let path = std::env::args().nth(1).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let (file, diags) = gridc::syntax::parse_file(&text, gridc::source::SourceId(0));
    let mut sources = gridc::source::Sources::new();
    sources.add(gridc::source::SourceFile { name: path.clone(), text: text.clone(), dir: None, embedded: false });
    for d in &diags { eprintln!("{}", gridc::diag::render::render(d, &sources, false)); }
    println!("{} items", file.items.len());
}

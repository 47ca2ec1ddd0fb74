use crate::diag::codes::{Code, CODES};

pub fn run(code: Option<&str>) -> i32 {
    match code {
        None => {
            for c in CODES {
                println!("{}  {}", c.code, c.title);
            }
            0
        }
        Some(text) => match Code::parse(text) {
            Some(c) => {
                let info = c.info();
                println!(
                    "{}: {}\n\n{}",
                    info.code,
                    info.title,
                    info.explanation.trim_end()
                );
                0
            }
            None => {
                eprintln!("error: `{text}` is not a gridc diagnostic code (try `gridc explain` for the list)");
                2
            }
        },
    }
}

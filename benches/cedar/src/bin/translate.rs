//! Print the Cedar translation of a privet policy:
//! `cargo run --release --bin translate -- ../../policies/huawei/global-2016.privet [compact|split]`

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "../../policies/huawei/global-2016.privet".into());
    let policy = privet::Policy::from_path(&path).expect("the policy loads");
    let layout = match std::env::args().nth(2).as_deref() {
        Some("split") => privet_cedar_bench::Layout::Split,
        _ => privet_cedar_bench::Layout::Compact,
    };
    print!("{}", privet_cedar_bench::translate(&policy, layout));
}

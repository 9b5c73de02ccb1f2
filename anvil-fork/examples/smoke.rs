//! temporary smoke
use solvency_devnet::{Devnet, DevnetConfig};
#[tokio::main]
async fn main() {
    let t = std::time::Instant::now();
    let devnet = Devnet::start(DevnetConfig::default()).await.unwrap();
    println!("started in {:?}", t.elapsed());
    println!("{}", serde_json::to_string_pretty(devnet.deployment()).unwrap());
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    println!("{:?}", devnet.relayer().unwrap().status());
    devnet.shutdown().await;
}

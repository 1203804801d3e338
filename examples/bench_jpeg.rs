//! Writes photo-like 3000×2000 JPEGs (gradients, shapes and sensor-like noise, so they compress
//! like real photos, ~1–2 MB) for `scripts/bench-images.sh`:
//! `cargo run --release --example bench_jpeg -- OUT_DIR COUNT`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use image::{Rgb, RgbImage};

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().unwrap_or_else(|| ".".into()));
    let count: u32 = args.next().and_then(|c| c.parse().ok()).unwrap_or(1);
    std::fs::create_dir_all(&dir).expect("output directory");
    for n in 0..count {
        let mut state = 0x9E37_79B9u32 ^ n.wrapping_mul(0x85EB_CA6B);
        let mut noise = move || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state % 24) as i32 - 12
        };
        let img = RgbImage::from_fn(3000, 2000, |x, y| {
            let (fx, fy) = (x as f32 / 3000.0, y as f32 / 2000.0);
            let (dx, dy) = (x as f32 - 1800.0 - n as f32 * 7.0, y as f32 - 900.0);
            let sun = if dx * dx + dy * dy < 250.0 * 250.0 {
                60.0
            } else {
                0.0
            };
            let base = [
                200.0 * (1.0 - fy) + 40.0 + sun,
                120.0 + 60.0 * (fx * 6.0).sin() + sun,
                90.0 + 120.0 * fy,
            ];
            let mut px = |v: f32| (v as i32 + noise()).clamp(0, 255) as u8;
            Rgb([px(base[0]), px(base[1]), px(base[2])])
        });
        let path = dir.join(format!("photo-{n:03}.jpg"));
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut file, 88)
            .encode_image(&img)
            .expect("encode");
        println!("{}", path.display());
    }
}

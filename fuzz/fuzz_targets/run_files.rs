#![no_main]
// See wgzero::fuzz::run_files for what it decodes and checks.
libfuzzer_sys::fuzz_target!(|data: &[u8]| wgzero::fuzz::run_files(data));

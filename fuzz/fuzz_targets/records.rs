#![no_main]
// See wgzero::fuzz::records for what it decodes and checks.
libfuzzer_sys::fuzz_target!(|data: &[u8]| wgzero::fuzz::records(data));

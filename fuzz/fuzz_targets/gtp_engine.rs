#![no_main]
// See wgzero::fuzz::gtp_engine for what it decodes and checks.
libfuzzer_sys::fuzz_target!(|data: &[u8]| wgzero::fuzz::gtp_engine(data));

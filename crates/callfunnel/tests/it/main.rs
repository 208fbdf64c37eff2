//! The library's integration tests, one binary: the engine against a naive
//! reference implementation and by properties, the same calls in four row
//! orders, the sample data against independently computed answers, another
//! dialer's export against the reference, and `verify`.

mod check;
mod exports;
mod orders;
mod properties;
mod reference;
mod sample;
mod sample_data;
mod verify;

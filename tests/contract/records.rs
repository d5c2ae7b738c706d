//! Contract suite of the records store port (D).

//! Contract suite of the relational store port (R).

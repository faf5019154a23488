//! Compare two reports.

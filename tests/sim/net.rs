//! The seeded in-memory network is the public kit's (`bt_tracker::sim`); this module keeps the
//! simulation's paths (`sim::net::Link`) for the tests that use them.

pub use bt_tracker::sim::{Datagram, Link, Net, chance, upto};

//! Deserialisers for partial updates (`PATCH` bodies).

use serde::{Deserialize, Deserializer};

/// A required field may be left out of a patch but not set to `null`.
pub fn not_null<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// Tells a field sent as `null` (`Some(None)`: clear it) from one left out
/// (`None`: keep it).
pub fn present<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

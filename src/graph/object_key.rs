//! A compact key for a directory object's id, for the sets and maps that hold a tenant's
//! ids (tenant L: over a hundred thousand objects, over a million look-ups).

/// An object id as a hash key: the 16 bytes of a GUID in the lowercase 8-4-4-4-12 form
/// Graph writes, or the id's text for anything else (an uppercase GUID, another id
/// format), so that every id keeps a key of its own and none is dropped or merged.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ObjectKey {
    /// A lowercase hyphenated GUID.
    Guid(u128),
    /// Any other id, verbatim.
    Other(Box<str>),
}

impl ObjectKey {
    /// The key of `id`.
    pub fn of(id: &str) -> ObjectKey {
        match guid_bits(id) {
            Some(bits) => ObjectKey::Guid(bits),
            None => ObjectKey::Other(id.into()),
        }
    }
}

impl ObjectKey {
    /// The id's text, as Graph wrote it (a GUID key's lowercase hyphenated form), written
    /// into `buf` when the key holds no text of its own.
    pub fn text<'a>(&'a self, buf: &'a mut [u8; 36]) -> &'a str {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let bits = match self {
            ObjectKey::Other(text) => return text,
            ObjectKey::Guid(bits) => *bits,
        };
        let mut nibbles = (0..32)
            .rev()
            .map(|i| HEX[((bits >> (4 * i)) & 0xf) as usize]);
        for (i, b) in buf.iter_mut().enumerate() {
            *b = match i {
                8 | 13 | 18 | 23 => b'-',
                _ => nibbles.next().unwrap_or(b'0'),
            };
        }
        // Only ASCII hex digits and hyphens were written.
        std::str::from_utf8(buf).unwrap_or_default()
    }
}

impl<'de> serde::Deserialize<'de> for ObjectKey {
    /// From a JSON string, without keeping a copy of a GUID's text.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = ObjectKey;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object id (a string)")
            }
            fn visit_str<E: serde::de::Error>(self, id: &str) -> Result<ObjectKey, E> {
                Ok(ObjectKey::of(id))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

/// The 128 bits of a lowercase hyphenated GUID, `None` for any other text (so the key of
/// an id that is not in that exact form is its text, and two different texts never share
/// a key).
fn guid_bits(id: &str) -> Option<u128> {
    let bytes = id.as_bytes();
    if bytes.len() != 36 {
        return None;
    }
    let mut bits = 0u128;
    for (i, &b) in bytes.iter().enumerate() {
        if matches!(i, 8 | 13 | 18 | 23) {
            if b != b'-' {
                return None;
            }
            continue;
        }
        let nibble = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => return None,
        };
        bits = (bits << 4) | u128::from(nibble);
    }
    Some(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_become_their_bits_and_other_ids_keep_their_text() {
        let guid = "0a1b2c3d-4e5f-6789-abcd-ef0123456789";
        assert_eq!(
            ObjectKey::of(guid),
            ObjectKey::Guid(0x0a1b2c3d_4e5f_6789_abcd_ef0123456789)
        );
        // The uppercase spelling of the same GUID is another text, so another key: the CSV
        // keeps ids as Graph gave them and a key must not merge two of them.
        let upper = guid.to_uppercase();
        assert_eq!(
            ObjectKey::of(&upper),
            ObjectKey::Other(upper.clone().into())
        );
        assert_ne!(ObjectKey::of(guid), ObjectKey::of(&upper));
        for other in [
            "",
            "u1",
            "0a1b2c3d-4e5f-6789-abcd-ef012345678",
            "0a1b2c3d-4e5f-6789-abcd-ef01234567890",
            "0a1b2c3d04e5f-6789-abcd-ef0123456789",
            "0a1b2c3d-4e5f-6789-abcd-ef012345678g",
            "{0a1b2c3d-4e5f-6789-abcd-ef01234567}",
        ] {
            assert_eq!(
                ObjectKey::of(other),
                ObjectKey::Other(other.into()),
                "{other}"
            );
        }
        assert_eq!(
            ObjectKey::of("00000000-0000-0000-0000-000000000000"),
            ObjectKey::Guid(0)
        );
    }

    #[test]
    fn a_key_gives_back_the_text_it_was_made_of() {
        let mut buf = [0; 36];
        for id in [
            "0a1b2c3d-4e5f-6789-abcd-ef0123456789",
            "ffffffff-ffff-ffff-ffff-ffffffffffff",
            "00000000-0000-0000-0000-000000000000",
            "0A1B2C3D-4E5F-6789-ABCD-EF0123456789",
            "u1",
            "",
        ] {
            assert_eq!(ObjectKey::of(id).text(&mut buf), id);
            let json = serde_json::to_string(id).unwrap();
            let key: ObjectKey = serde_json::from_str(&json).unwrap();
            assert_eq!(key, ObjectKey::of(id));
        }
        assert!(
            serde_json::from_str::<ObjectKey>("12").is_err(),
            "ids are strings"
        );
    }
}

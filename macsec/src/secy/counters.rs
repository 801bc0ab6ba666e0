//! The SecY, SC and SA counters of 802.1AE-2018 clause 10.7, named as the standard names them.
//! Counters are plain integers owned by one lcore; readers sum the per-lcore copies.

use serde::{Deserialize, Serialize};

macro_rules! counters {
    ($(#[$m:meta])* $name:ident { $($field:ident => $std:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
        pub struct $name {
            $(#[serde(rename = $std, default)] pub $field: u64,)*
        }

        impl $name {
            /// Adds every counter of `other` to `self`.
            pub fn add(&mut self, other: &Self) {
                $(self.$field = self.$field.wrapping_add(other.$field);)*
            }

            /// (standard name, value) pairs in the standard's order.
            pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> {
                [$(($std, self.$field)),*].into_iter()
            }
        }
    };
}

counters! {
    /// Every counter of the SecY, summed over its SCs and SAs.
    SecyCounters {
        in_pkts_ok => "InPktsOK",
        in_pkts_invalid => "InPktsInvalid",
        in_pkts_not_valid => "InPktsNotValid",
        in_pkts_late => "InPktsLate",
        in_pkts_delayed => "InPktsDelayed",
        in_pkts_unchecked => "InPktsUnchecked",
        in_pkts_not_using_sa => "InPktsNotUsingSA",
        in_pkts_unused_sa => "InPktsUnusedSA",
        in_pkts_untagged => "InPktsUntagged",
        in_pkts_no_tag => "InPktsNoTag",
        in_pkts_bad_tag => "InPktsBadTag",
        in_pkts_unknown_sci => "InPktsUnknownSCI",
        in_pkts_no_sci => "InPktsNoSCI",
        in_pkts_overrun => "InPktsOverrun",
        in_octets_validated => "InOctetsValidated",
        in_octets_decrypted => "InOctetsDecrypted",
        out_pkts_untagged => "OutPktsUntagged",
        out_pkts_too_long => "OutPktsTooLong",
        out_pkts_protected => "OutPktsProtected",
        out_pkts_encrypted => "OutPktsEncrypted",
        out_octets_protected => "OutOctetsProtected",
        out_octets_encrypted => "OutOctetsEncrypted",
    }
}

counters! {
    /// Per receive SA (802.1AE-2018 10.7.11).
    RxSaCounters {
        in_pkts_ok => "InPktsOK",
        in_pkts_invalid => "InPktsInvalid",
        in_pkts_not_valid => "InPktsNotValid",
        in_pkts_not_using_sa => "InPktsNotUsingSA",
        in_pkts_unused_sa => "InPktsUnusedSA",
    }
}

counters! {
    /// Per transmit SA (802.1AE-2018 10.7.23).
    TxSaCounters {
        out_pkts_protected => "OutPktsProtected",
        out_pkts_encrypted => "OutPktsEncrypted",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_sum() {
        let mut a = SecyCounters {
            in_pkts_ok: 2,
            out_octets_encrypted: 7,
            ..Default::default()
        };
        a.add(&SecyCounters {
            in_pkts_ok: 3,
            ..Default::default()
        });
        assert_eq!(a.in_pkts_ok, 5);
        assert_eq!(a.iter().count(), 22);
        let j = serde_json::to_value(a).unwrap();
        assert_eq!(j["InPktsOK"], 5);
        assert_eq!(j["OutOctetsEncrypted"], 7);
        assert_eq!(j["InPktsUnknownSCI"], 0);
    }
}

//! The text of `kmc info`, generated from the style registries.
//!
//! Lattices come from [`LatticeKind::ALL`], rate models from [`RateModelSpec::STYLES`], samplers
//! from [`SamplerKind::ALL`]: a new style appears here when its registry line is added, and the
//! tests below fail if a scenario enum gains a variant its registry lacks.

use crate::lattice::LatticeKind;
use crate::rates::RateModelSpec;
use crate::sampler::SamplerKind;
use std::fmt::Write;

/// The text `kmc info` prints: version, lattices, rate models and samplers.
pub fn render() -> String {
    let mut s = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(s, "kmc {}", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(s, "\nlattices (lattice.kind; lattice.size unit):");
    for k in LatticeKind::ALL {
        let _ = writeln!(s, "  {:<12} {}", format!("{k:?}"), k.size_unit());
    }
    let _ = writeln!(s, "\nrate models (rate_model):");
    for style in RateModelSpec::STYLES {
        let _ = writeln!(s, "  {:<23} {}", style.name, style.summary);
    }
    let _ = writeln!(s, "\nsamplers (sampler):");
    for k in SamplerKind::ALL {
        let _ = writeln!(
            s,
            "  {:<22} {:<22} {}",
            format!("{k:?}"),
            k.name(),
            k.summary()
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::{self, Deserialize, Visitor};

    /// Captures the variant names serde knows for an enum.
    struct VariantNames(&'static [&'static str]);

    impl<'de> de::Deserializer<'de> for &mut VariantNames {
        type Error = de::value::Error;

        fn deserialize_enum<V: Visitor<'de>>(
            self,
            _name: &'static str,
            variants: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, Self::Error> {
            self.0 = variants;
            Err(de::Error::custom("variant names only"))
        }

        fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not an enum"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
            option unit unit_struct newtype_struct seq tuple tuple_struct map struct identifier
            ignored_any
        }
    }

    fn variants<T: for<'de> Deserialize<'de>>() -> Vec<&'static str> {
        let mut v = VariantNames(&[]);
        let _ = T::deserialize(&mut v);
        v.0.to_vec()
    }

    #[test]
    fn registries_list_every_scenario_style() {
        let rates: Vec<_> = RateModelSpec::STYLES.iter().map(|s| s.name).collect();
        assert_eq!(rates, variants::<RateModelSpec>());
        let samplers: Vec<_> = SamplerKind::ALL.iter().map(|k| format!("{k:?}")).collect();
        assert_eq!(samplers, variants::<SamplerKind>());
        let lattices: Vec<_> = LatticeKind::ALL.iter().map(|k| format!("{k:?}")).collect();
        assert_eq!(lattices, variants::<LatticeKind>());
    }

    #[test]
    fn render_names_every_style() {
        let text = render();
        for s in RateModelSpec::STYLES {
            assert!(text.contains(s.name) && text.contains(s.summary));
        }
        for k in SamplerKind::ALL {
            assert!(text.contains(k.summary()));
        }
        for k in LatticeKind::ALL {
            assert!(text.contains(&format!("{k:?}")));
        }
    }
}

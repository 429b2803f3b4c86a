//! The frames an isolated plugin and the host exchange over the child's
//! stdin and stdout: a little-endian `u32` length, then a tag byte and the
//! payload. Records travel as length-prefixed JSON text, batch by batch, so
//! that no record is parsed or escaped on the way.

use abi_stable::std_types::{RString, RVec};
use cloudmarker_plugin_api::{ErrorKind, Outcome, PluginError};
use std::io::{self, Read, Write};

/// The largest frame either side accepts (a batch of records).
pub const MAX_FRAME: usize = 1 << 30;

/// A request from the host to the child.
#[derive(Debug, PartialEq)]
pub enum Request {
    /// Construct the plugin with these JSON params.
    New(String),
    /// `read(max)`.
    Read(u64),
    /// `eval(records)`.
    Eval(Vec<String>),
    /// `write(records)`.
    Write(Vec<String>),
    /// `write_from(origin, records)`.
    WriteFrom(String, Vec<String>),
    /// `done()`, after which the child exits.
    Done,
}

/// A message from the child to the host.
#[derive(Debug, PartialEq)]
pub enum Reply {
    /// A log line of the plugin: level (as `log::Level` numbers it), target,
    /// message.
    Log(u8, String, String),
    /// The plugin was constructed.
    Constructed,
    /// A call returned this outcome.
    Outcome(Outcome),
    /// A call (or the construction) returned this error.
    Error(PluginError),
}

/// Builds one frame's body.
#[derive(Default)]
struct Body(Vec<u8>);

impl Body {
    fn tag(tag: u8) -> Self {
        Self(vec![tag])
    }

    fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }

    fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    fn str(&mut self, s: &str) -> &mut Self {
        self.0.extend_from_slice(&(s.len() as u32).to_le_bytes());
        self.0.extend_from_slice(s.as_bytes());
        self
    }

    fn strs<'a>(&mut self, items: impl ExactSizeIterator<Item = &'a str>) -> &mut Self {
        self.0
            .extend_from_slice(&(items.len() as u32).to_le_bytes());
        for item in items {
            self.str(item);
        }
        self
    }

    fn error(&mut self, e: &PluginError) -> &mut Self {
        self.u8(e.kind.0).u64(e.records_failed).str(&e.message)
    }

    fn send(&self, out: &mut impl Write) -> io::Result<()> {
        out.write_all(&(self.0.len() as u32).to_le_bytes())?;
        out.write_all(&self.0)?;
        out.flush()
    }
}

/// Reads one frame's body.
struct Fields<'a>(&'a [u8]);

impl Fields<'_> {
    fn take(&mut self, n: usize) -> io::Result<&[u8]> {
        if self.0.len() < n {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "truncated frame",
            ));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u8(&mut self) -> io::Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> io::Result<usize> {
        let bytes: [u8; 4] = self.take(4)?.try_into().expect("4 bytes");
        Ok(u32::from_le_bytes(bytes) as usize)
    }

    fn u64(&mut self) -> io::Result<u64> {
        let bytes: [u8; 8] = self.take(8)?.try_into().expect("8 bytes");
        Ok(u64::from_le_bytes(bytes))
    }

    fn string(&mut self) -> io::Result<String> {
        let n = self.u32()?;
        String::from_utf8(self.take(n)?.to_vec())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "text is not UTF-8"))
    }

    fn strings(&mut self) -> io::Result<Vec<String>> {
        let n = self.u32()?;
        (0..n).map(|_| self.string()).collect()
    }

    fn error(&mut self) -> io::Result<PluginError> {
        let kind = ErrorKind(self.u8()?);
        let records_failed = self.u64()?;
        let message = self.string()?;
        Ok(PluginError {
            kind,
            message: message.into(),
            records_failed,
        })
    }
}

/// Reads one frame; `None` at the end of the stream.
fn read_frame(input: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
    let mut length = [0u8; 4];
    match input.read_exact(&mut length) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let length = u32::from_le_bytes(length) as usize;
    if length == 0 || length > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a frame of {length} bytes"),
        ));
    }
    let mut body = vec![0u8; length];
    input.read_exact(&mut body)?;
    Ok(Some(body))
}

impl Request {
    /// Writes the request to `out`.
    pub fn send(&self, out: &mut impl Write) -> io::Result<()> {
        match self {
            Self::New(params) => Body::tag(b'N').str(params).send(out),
            Self::Read(max) => Body::tag(b'R').u64(*max).send(out),
            Self::Eval(records) => Body::tag(b'E')
                .strs(records.iter().map(String::as_str))
                .send(out),
            Self::Write(records) => Body::tag(b'W')
                .strs(records.iter().map(String::as_str))
                .send(out),
            Self::WriteFrom(origin, records) => Body::tag(b'F')
                .str(origin)
                .strs(records.iter().map(String::as_str))
                .send(out),
            Self::Done => Body::tag(b'D').send(out),
        }
    }

    /// Writes a batch request (`Eval`, `Write` or `WriteFrom`, by `tag`)
    /// from borrowed records, without copying them into a `Request`.
    pub fn send_batch<'a>(
        out: &mut impl Write,
        tag: u8,
        origin: Option<&str>,
        records: impl ExactSizeIterator<Item = &'a str>,
    ) -> io::Result<()> {
        let mut body = Body::tag(tag);
        if let Some(origin) = origin {
            body.str(origin);
        }
        body.strs(records).send(out)
    }

    /// Reads the next request; `None` when the host closed the pipe.
    pub fn receive(input: &mut impl Read) -> io::Result<Option<Self>> {
        let Some(body) = read_frame(input)? else {
            return Ok(None);
        };
        let mut f = Fields(&body);
        let request = match f.u8()? {
            b'N' => Self::New(f.string()?),
            b'R' => Self::Read(f.u64()?),
            b'E' => Self::Eval(f.strings()?),
            b'W' => Self::Write(f.strings()?),
            b'F' => Self::WriteFrom(f.string()?, f.strings()?),
            b'D' => Self::Done,
            tag => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("unknown request {tag}"),
                ))
            }
        };
        Ok(Some(request))
    }
}

/// The tags of the batch requests, for [`Request::send_batch`].
pub mod tags {
    /// `eval`.
    pub const EVAL: u8 = b'E';
    /// `write`.
    pub const WRITE: u8 = b'W';
    /// `write_from`.
    pub const WRITE_FROM: u8 = b'F';
}

impl Reply {
    /// Writes the reply to `out`.
    pub fn send(&self, out: &mut impl Write) -> io::Result<()> {
        match self {
            Self::Log(level, target, message) => Body::tag(b'L')
                .u8(*level)
                .str(target)
                .str(message)
                .send(out),
            Self::Constructed => Body::tag(b'K').send(out),
            Self::Outcome(outcome) => {
                let mut body = Body::tag(b'O');
                body.strs(outcome.records.iter().map(RString::as_str));
                body.0
                    .extend_from_slice(&(outcome.problems.len() as u32).to_le_bytes());
                for problem in outcome.problems.iter() {
                    body.error(problem);
                }
                body.send(out)
            }
            Self::Error(e) => Body::tag(b'X').error(e).send(out),
        }
    }

    /// Reads the next reply; `None` when the child closed its stdout.
    pub fn receive(input: &mut impl Read) -> io::Result<Option<Self>> {
        let Some(body) = read_frame(input)? else {
            return Ok(None);
        };
        let mut f = Fields(&body);
        let reply = match f.u8()? {
            b'L' => Self::Log(f.u8()?, f.string()?, f.string()?),
            b'K' => Self::Constructed,
            b'O' => {
                let records: RVec<RString> = f.strings()?.into_iter().map(RString::from).collect();
                let n = f.u32()?;
                let problems = (0..n).map(|_| f.error()).collect::<io::Result<Vec<_>>>()?;
                Self::Outcome(Outcome {
                    records,
                    problems: problems.into(),
                })
            }
            b'X' => Self::Error(f.error()?),
            tag => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("unknown reply {tag}"),
                ))
            }
        };
        Ok(Some(reply))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_replies_survive_the_pipe() {
        let requests = [
            Request::New(r#"{"n": 1}"#.into()),
            Request::Read(500),
            Request::Eval(vec!["{}".into(), r#"{"raw": "é"}"#.into()]),
            Request::Write(vec![]),
            Request::WriteFrom("a_b".into(), vec!["{}".into()]),
            Request::Done,
        ];
        let mut pipe = Vec::new();
        for request in &requests {
            request.send(&mut pipe).unwrap();
        }
        let mut input = pipe.as_slice();
        for request in &requests {
            assert_eq!(
                Request::receive(&mut input).unwrap().as_ref(),
                Some(request)
            );
        }
        assert_eq!(Request::receive(&mut input).unwrap(), None);

        let replies = [
            Reply::Log(3, "plugin".into(), "hello".into()),
            Reply::Constructed,
            Reply::Outcome(Outcome {
                records: vec![RString::from("{}")].into(),
                problems: vec![PluginError::partial(2, "two lost")].into(),
            }),
            Reply::Error(PluginError::unavailable("down")),
        ];
        let mut pipe = Vec::new();
        for reply in &replies {
            reply.send(&mut pipe).unwrap();
        }
        let mut input = pipe.as_slice();
        for reply in &replies {
            assert_eq!(Reply::receive(&mut input).unwrap().as_ref(), Some(reply));
        }
    }

    #[test]
    fn a_garbled_frame_is_an_error_not_a_panic() {
        for bytes in [
            &[0u8, 0, 0, 0][..],
            &[5, 0, 0, 0, b'R'],
            &[1, 0, 0, 0, b'?'],
        ] {
            assert!(Reply::receive(&mut &bytes[..]).is_err(), "{bytes:?}");
        }
    }
}

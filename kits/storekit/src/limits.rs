//! How full a store's buffer may get before it is flushed.

/// Buffer limits: a flush happens when either is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferLimits {
    /// Records per batch.
    pub max_records: usize,
    /// Bytes of encoded records per batch (a single larger record still
    /// goes, alone).
    pub max_bytes: usize,
}

/// What upstream Cloudmarker's `buffer_size` param counted in a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BufferSizeMeans {
    /// Records (`mongodbstore`, `splunkhecstore`).
    Records,
    /// Bytes of request body (`esstore`).
    Bytes,
}

impl BufferLimits {
    /// The limits from a store's params: `max_records` and `max_bytes` win;
    /// otherwise upstream's `buffer_size` sets the one it `means`
    /// (`buffer_size: 0`, as upstream configs have it, flushes after every
    /// record); what is still unset keeps `defaults`.
    pub fn from_params(
        buffer_size: Option<usize>,
        means: BufferSizeMeans,
        max_records: Option<usize>,
        max_bytes: Option<usize>,
        defaults: BufferLimits,
    ) -> Result<Self, String> {
        for (name, value) in [("max_records", max_records), ("max_bytes", max_bytes)] {
            if value == Some(0) {
                return Err(format!("{name} must be at least 1"));
            }
        }
        let mut limits = defaults;
        match (buffer_size, means) {
            (Some(0), _) => limits.max_records = 1,
            (Some(n), BufferSizeMeans::Records) => limits.max_records = n,
            (Some(n), BufferSizeMeans::Bytes) => limits.max_bytes = n,
            (None, _) => {}
        }
        if let Some(n) = max_records {
            limits.max_records = n;
        }
        if let Some(n) = max_bytes {
            limits.max_bytes = n;
        }
        Ok(limits)
    }

    /// Twice the limits, for a buffer that holds a failed batch.
    pub fn doubled(self) -> Self {
        Self {
            max_records: self.max_records.saturating_mul(2),
            max_bytes: self.max_bytes.saturating_mul(2),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULTS: BufferLimits = BufferLimits {
        max_records: 1000,
        max_bytes: 5_000_000,
    };

    #[test]
    fn buffer_size_keeps_its_upstream_meaning_per_store() {
        let records =
            BufferLimits::from_params(Some(8), BufferSizeMeans::Records, None, None, DEFAULTS);
        assert_eq!(
            records.unwrap(),
            BufferLimits {
                max_records: 8,
                ..DEFAULTS
            }
        );
        let bytes =
            BufferLimits::from_params(Some(800), BufferSizeMeans::Bytes, None, None, DEFAULTS);
        assert_eq!(
            bytes.unwrap(),
            BufferLimits {
                max_bytes: 800,
                ..DEFAULTS
            }
        );
    }

    #[test]
    fn the_new_names_win_and_zero_means_every_record() {
        let both = BufferLimits::from_params(
            Some(8),
            BufferSizeMeans::Records,
            Some(3),
            Some(99),
            DEFAULTS,
        );
        assert_eq!(
            both.unwrap(),
            BufferLimits {
                max_records: 3,
                max_bytes: 99
            }
        );
        let zero = BufferLimits::from_params(Some(0), BufferSizeMeans::Bytes, None, None, DEFAULTS);
        assert_eq!(zero.unwrap().max_records, 1);
        let err = BufferLimits::from_params(None, BufferSizeMeans::Bytes, Some(0), None, DEFAULTS);
        assert_eq!(err.unwrap_err(), "max_records must be at least 1");
    }
}

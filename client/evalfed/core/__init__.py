"""The pure domain shared by client and server: errors, records, charter, checks. No IO."""

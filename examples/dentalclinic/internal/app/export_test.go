package app

// The data directory's layout, the revocation poll and the daily
// summary's audit reason, for the external
// tests (package app_test) that read what the app wrote there.
const (
	AuditKeyFile   = auditKeyFile
	CheckpointDir  = checkpointDir
	OffboardDir    = offboardDir
	RevocationPoll = revocationPoll
	SummaryReason  = summaryReason
)

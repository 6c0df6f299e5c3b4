package people

// ArgonRuns returns how many argon2id computations sign-ins have done.
func (s *Service) ArgonRuns() int64 { return s.argonRuns.Load() }

// TOTPCodeAt exposes the code computation to the tests.
var TOTPCodeAt = totpCode

// Package signin is the reference app's one sign-in service: staff,
// platform admins and portal patients sign in through it, with the clinic
// choice, the rate limit, sign-out's revocation and the check that ends
// every session of a suspended clinic. The JSON API and the web UI both
// call it, so a rule added here holds for both, and neither imports the
// other.
//
// # Security
//
//   - One answer ([ErrBadCredentials]) for an unknown email, a wrong
//     password, a disabled account and a suspended clinic; an unknown email
//     costs the time of a password check, so none can be told apart.
//   - Attempts are limited per address and email (10 a minute by default,
//     [Config.Attempts]); enrolment in the portal per address.
//   - The clinic of a session is the one its account belongs to, chosen
//     among the accounts the password matches: a request cannot name
//     another.
//   - [Service.ActiveClinic] refuses every session of a suspended or erased
//     clinic: at once on the instance that suspended it
//     ([Service.ClinicSuspended]), within 5 seconds on the others.
//   - Nothing of a password, a token or an email reaches a log.
package signin

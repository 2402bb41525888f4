package servicerun

import (
	"strings"
	"time"
	_ "time/tzdata" // time zones work on hosts and images without a zoneinfo database

	"github.com/robfig/cron/v3"

	"github.com/dtbase/dtbase"
)

// cronParser reads standard five-field expressions, six fields with a
// leading seconds field, and descriptors such as @hourly or @every 15m.
var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// CheckCron checks a cron expression in a time zone and returns it
// normalised: a CRON_TZ= or TZ= prefix moves into the time zone, and an
// empty zone is UTC. EINVALID names the problem: an empty or malformed
// expression, an unknown time zone, two different zones, or an expression
// that never fires.
func CheckCron(expr, timeZone string, after time.Time) (dtbase.CronSpec, error) {
	expr = strings.Join(strings.Fields(expr), " ")
	timeZone = strings.TrimSpace(timeZone)
	if expr == "" {
		return dtbase.CronSpec{}, dtbase.Errorf(dtbase.EINVALID, "Invalid cron expression: it is empty")
	}
	if strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ=") {
		prefix, rest, _ := strings.Cut(expr, " ")
		_, zone, _ := strings.Cut(prefix, "=")
		if timeZone != "" && timeZone != zone {
			return dtbase.CronSpec{}, dtbase.Errorf(dtbase.EINVALID, "The cron expression names time zone %q and timezone is %q: give one", zone, timeZone)
		}
		expr, timeZone = rest, zone
	}
	if timeZone == "" {
		timeZone = "UTC"
	}
	sched, err := parseCron(expr, timeZone)
	if err != nil {
		return dtbase.CronSpec{}, err
	}
	next := sched.Next(after)
	if next.IsZero() {
		return dtbase.CronSpec{}, dtbase.Errorf(dtbase.EINVALID, "Cron expression %q never fires", expr)
	}
	return dtbase.CronSpec{Cron: expr, TimeZone: timeZone, Next: next.UTC()}, nil
}

// parseCron parses a normalised expression to run in the named zone.
func parseCron(expr, timeZone string) (cron.Schedule, error) {
	loc, err := loadZone(timeZone)
	if err != nil {
		return nil, err
	}
	sched, err := cronParser.Parse(expr)
	if err != nil {
		return nil, dtbase.Errorf(dtbase.EINVALID, "Invalid cron expression %q: %v", expr, err)
	}
	if spec, ok := sched.(*cron.SpecSchedule); ok {
		spec.Location = loc
	}
	return sched, nil
}

// loadZone returns an IANA time zone. "Local" is refused: replicas in
// different zones would disagree on when a schedule is due.
func loadZone(name string) (*time.Location, error) {
	if name == "Local" || strings.HasPrefix(name, "/") || strings.Contains(name, "..") {
		return nil, dtbase.Errorf(dtbase.EINVALID, "Unknown time zone %q: use an IANA name such as UTC or Europe/London", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, dtbase.Errorf(dtbase.EINVALID, "Unknown time zone %q: use an IANA name such as UTC or Europe/London", name)
	}
	return loc, nil
}

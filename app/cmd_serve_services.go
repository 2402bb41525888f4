package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/ingest/weather"
	"github.com/dtbase/dtbase/servicerun"
	"github.com/dtbase/dtbase/sqldb"
)

// serviceSettings are the settings of the service runner and scheduler,
// besides DT_SCHEDULER.
type serviceSettings struct {
	SecretKey         string   // seals service credentials; generated and kept when empty
	AllowedHosts      []string // hosts and ranges services may call although refused by default
	MaxRunsInFlight   int      // runs of one service pending or running at once; 0: no limit
	RunsPerMinute     int      // runs of one service started per minute; 0: no limit
	CatchUp           bool     // run once a schedule missed while the server was down
	Builtins          bool     // register the built-in services on first start
	OpenWeatherMapKey string   // default api_key of the weather ingress's openweathermap source
	OpenMeteoURL      string   // forecast API of the weather ingress's open-meteo source
}

// serviceSettingList are the service runner's settings besides
// DT_SCHEDULER, kept next to their use; config.go lists them after the
// MQTT ones.
var serviceSettingList = []setting{
	{"DT_SECRET_KEY", "", "key that seals service credentials (any long random string); generated and kept in the data directory (SQLite) or the database (PostgreSQL) when unset", func(c *Config, v string) error {
		c.Services.SecretKey = v
		return nil
	}},
	{"DT_SERVICE_ALLOWED_HOSTS", "", "comma-separated hosts services may call although they are loopback, private, link-local (cloud metadata) or other special-purpose addresses, refused by default: names, *.suffix, IP addresses, CIDR ranges (127.0.0.1,10.0.0.0/8,internal.example.org)", func(c *Config, v string) error {
		c.Services.AllowedHosts = commaList(v)
		return nil
	}},
	{"DT_SERVICE_MAX_CONCURRENT_RUNS", "8", "runs of one service that may be pending or running at once, across replicas; further runs are refused (429); 0: no limit", func(c *Config, v string) (err error) {
		c.Services.MaxRunsInFlight, err = nonNegative(v)
		return
	}},
	{"DT_SERVICE_RUNS_PER_MINUTE", "120", "runs of one service that may start in a minute, across replicas; further runs are refused (429); 0: no limit", func(c *Config, v string) (err error) {
		c.Services.RunsPerMinute, err = nonNegative(v)
		return
	}},
	{"DT_SCHEDULER_CATCH_UP", "true", "run a schedule once on start when its time passed while the server was down", func(c *Config, v string) (err error) {
		c.Services.CatchUp, err = strconv.ParseBool(v)
		return
	}},
	{"DT_BUILTIN_SERVICES", "true", "register the built-in services (weather-ingress, arima-forecast) with example parameter sets on first start", func(c *Config, v string) (err error) {
		c.Services.Builtins, err = strconv.ParseBool(v)
		return
	}},
	{"DT_OPEN_METEO_URL", weather.DefaultOpenMeteoURL, "Open-Meteo forecast API the weather ingress calls (for a self-hosted Open-Meteo or a mirror)", func(c *Config, v string) error {
		c.Services.OpenMeteoURL = strings.TrimSpace(v)
		return nil
	}},
	{"DT_OPENWEATHERMAP_APIKEY", "", "OpenWeatherMap API key for the weather ingress's openweathermap source (the default source, Open-Meteo, needs none)", func(c *Config, v string) error {
		c.Services.OpenWeatherMapKey = v
		return nil
	}},
}

// startServices builds the service runner with the built-in services,
// registers those on first start, and starts the scheduler when
// DT_SCHEDULER is true. The returned stop function stops the scheduler and
// waits up to 30 s for runs in flight, then interrupts (and records) them.
func (m *Main) startServices(ctx context.Context, c Config, db *sqldb.DB, sealer *servicerun.Sealer, log *slog.Logger) (dtbase.ServiceRunner, func(), error) {
	log = log.With("component", "services")
	// The runner signs its calls to dtbase's own endpoints with the JWT
	// secret, so the API accepts them on every replica.
	tokenSecret, err := jwtSecret(ctx, c, db)
	if err != nil {
		return nil, nil, err
	}
	// The ARIMA service is an API endpoint; it and the weather ingress are
	// the only paths of this server that services (the built-ins) call.
	runner, err := servicerun.NewRunner(servicerun.Options{Store: db, Sealer: sealer, TokenSecret: tokenSecret,
		AllowedHosts: c.Services.AllowedHosts, InternalPaths: []string{"/model/run-arima"},
		MaxRunsInFlight: c.Services.MaxRunsInFlight, RunsPerMinute: c.Services.RunsPerMinute,
		UserAgent: "dtbase/" + Version, Logger: log})
	if err != nil {
		return nil, nil, fmt.Errorf("DT_SERVICE_ALLOWED_HOSTS: %w", err)
	}
	runner.RegisterBuiltin(&weather.Ingress{Store: db, OpenMeteoURL: c.Services.OpenMeteoURL, OpenWeatherMapAPIKey: c.Services.OpenWeatherMapKey})

	if c.Services.Builtins {
		if err := registerBuiltins(ctx, db, log); err != nil {
			return nil, nil, err
		}
	}

	schedCtx, stopScheduler := context.WithCancel(ctx)
	schedDone := make(chan struct{})
	if c.Scheduler {
		sched := servicerun.NewScheduler(runner, servicerun.SchedulerOptions{CatchUp: c.Services.CatchUp})
		go func() {
			defer close(schedDone)
			// Wait until the server listens, so that built-in services are
			// callable when the first (catch-up) runs start.
			select {
			case <-runner.SelfURLKnown():
			case <-schedCtx.Done():
				return
			case <-time.After(10 * time.Second):
				log.Warn("scheduler: the server's own address is still unknown; starting anyway")
			}
			sched.Run(schedCtx)
		}()
	} else {
		close(schedDone)
		log.Info("scheduler disabled (DT_SCHEDULER=false): this process runs services only on request")
	}
	stop := func() {
		stopScheduler()
		<-schedDone
		waitCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		runner.Stop(waitCtx)
	}
	return runner, stop, nil
}

// servicesListening tells the runner where this server listens, for the
// services whose URL is a path on it (the built-ins). Wildcard addresses
// are reached through the loopback interface.
func servicesListening(r dtbase.ServiceRunner, addr net.Addr) {
	runner, ok := r.(*servicerun.Runner)
	if !ok || addr == nil {
		return
	}
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	runner.SetSelfURL("http://" + net.JoinHostPort(host, port))
}

// serviceSecretKey returns DT_SECRET_KEY, or a generated key: kept in the
// data directory on SQLite, and in the database on PostgreSQL so that
// every replica opens the same credentials.
// serviceSealer returns the sealer of service credentials and channel
// secrets, keyed by serviceSecretKey.
func serviceSealer(ctx context.Context, c Config, db *sqldb.DB) (*servicerun.Sealer, error) {
	key, err := serviceSecretKey(ctx, c, db)
	if err != nil {
		return nil, err
	}
	return servicerun.NewSealer(key)
}

func serviceSecretKey(ctx context.Context, c Config, db *sqldb.DB) ([]byte, error) {
	if c.Services.SecretKey != "" {
		return []byte(c.Services.SecretKey), nil
	}
	return storedSecret(ctx, c, db, "service_secret_key", "secret-key", "service secret key")
}

// builtinRegistrations are the service rows of the built-in services, with
// example parameter sets: London's weather, and forecasts of it with the
// ARIMA service. A database holding the demo gets demoRegistrations.
func builtinRegistrations() []servicerun.Registration {
	london := func(from, to string) json.RawMessage {
		return obj(map[string]any{"latitude": 51.53, "longitude": -0.127, "dt_from": from, "dt_to": to})
	}
	return []servicerun.Registration{
		{
			Service: dtbase.Service{Name: "weather-ingress", URL: "/service/builtin/weather", HTTPMethod: "POST", Timeout: time.Minute, Builtin: "weather"},
			ParameterSets: []dtbase.ParameterSet{
				{Name: "london-history", Parameters: london("-48h", "present")},
				{Name: "london-forecast", Parameters: london("present", "+48h")},
			},
		},
		{
			Service: dtbase.Service{Name: "arima-forecast", URL: "/model/run-arima", HTTPMethod: "POST", Timeout: 10 * time.Minute, Builtin: "arima"},
			ParameterSets: []dtbase.ParameterSet{
				{Name: "london-temperature", Parameters: obj(map[string]any{
					"sensors": []string{"OpenMeteoHistory"}, "measures": []any{map[string]any{"name": "temperature", "units": "degrees Celsius"}},
					"num_days_training": 5, "order": []int{2, 0, 1}, "seasonal_order": []int{1, 1, 0, 24}, "hours_forecast": 48})},
			},
		},
	}
}

// obj encodes the parameters of a built-in parameter set.
func obj(v map[string]any) json.RawMessage {
	b, _ := json.Marshal(v) // maps of strings, numbers and slices of them
	return b
}

// registerBuiltins registers the built-in services on the first start of
// a database only, so that a user who deletes them is not overruled on the
// next start. Concurrent replicas agree through one setting.
func registerBuiltins(ctx context.Context, db *sqldb.DB, log *slog.Logger) error {
	var b [12]byte
	rand.Read(b[:])
	marker := "registered by " + base64.RawURLEncoding.EncodeToString(b[:])
	got, err := db.GetOrCreateSetting(ctx, "builtin_services", marker)
	if err != nil {
		return fmt.Errorf("built-in services: %w", err)
	}
	if got != marker {
		return nil // registered on an earlier start, or by another replica
	}
	regs, err := demoRegistrations(ctx, db)
	if err != nil {
		return fmt.Errorf("built-in services: %w", err)
	}
	if regs == nil {
		regs = builtinRegistrations()
	}
	if err := servicerun.Register(ctx, db, regs); err != nil {
		return err
	}
	log.Info("registered the built-in services", "services", "weather-ingress, arima-forecast")
	return nil
}

// nonNegative reads a count where 0 means no limit.
func nonNegative(v string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("want a whole number, 0 or more, got %q", v)
	}
	return n, nil
}

package weather

import (
	"context"
	"net/url"
	"strconv"
	"time"
)

// owmHour is an hourly entry of OpenWeatherMap's One Call API. Numbers are
// decoded as float64, so an integral temperature (20 rather than 20.0) is
// a float like any other: the original rejected such batches (B10).
type owmHour struct {
	DT        int64    `json:"dt"`
	Temp      *float64 `json:"temp"`
	Pressure  *float64 `json:"pressure"`
	Humidity  *float64 `json:"humidity"`
	WindSpeed *float64 `json:"wind_speed"`
	WindDeg   *float64 `json:"wind_deg"`
	Weather   []struct {
		Icon string `json:"icon"`
	} `json:"weather"`
	Rain map[string]float64 `json:"rain"`
}

// owmResponse holds the hours of a One Call answer: "hourly" in the
// forecast and the 2.5 time machine, "data" in the 3.0 time machine.
type owmResponse struct {
	Hourly []owmHour `json:"hourly"`
	Data   []owmHour `json:"data"`
}

// fetchOpenWeatherMap calls One Call as the original did: the time machine
// once per day of a history window, the forecast once (its 48 hourly
// entries cover any forecast window). Times are Unix seconds and stay UTC:
// the original turned them into naive local times.
func (in *Ingress) fetchOpenWeatherMap(ctx context.Context, lat, lon float64, from, to time.Time, history bool, key string) ([]hour, error) {
	base := in.OpenWeatherMapForecastURL
	if base == "" {
		base = DefaultOpenWeatherMapForecast
	}
	steps := []time.Time{from}
	if history {
		if in.OpenWeatherMapHistoryURL != "" {
			base = in.OpenWeatherMapHistoryURL
		} else {
			base = DefaultOpenWeatherMapHistory
		}
		steps = steps[:0]
		for t := from; !t.After(to); t = t.Add(24 * time.Hour) { // pandas.date_range(from, to, freq="d")
			steps = append(steps, t)
		}
		if last := steps[len(steps)-1]; last.Truncate(24*time.Hour) != to.Truncate(24*time.Hour) {
			steps = append(steps, to) // the original missed the last day's later hours
		}
	}
	seen := map[int64]bool{}
	var out []hour
	for _, step := range steps {
		q := url.Values{}
		q.Set("lat", strconv.FormatFloat(lat, 'f', -1, 64))
		q.Set("lon", strconv.FormatFloat(lon, 'f', -1, 64))
		q.Set("units", "metric")
		q.Set("appid", key)
		q.Set("dt", strconv.FormatInt(step.Unix(), 10))
		var r owmResponse
		if err := in.getJSON(ctx, "OpenWeatherMap", base+"?"+q.Encode(), &r); err != nil {
			return nil, err
		}
		for _, e := range append(r.Hourly, r.Data...) {
			if seen[e.DT] {
				continue
			}
			seen[e.DT] = true
			h := hour{t: time.Unix(e.DT, 0).UTC(), temperature: e.Temp, pressure: e.Pressure, humidity: e.Humidity,
				windSpeed: e.WindSpeed, windDirection: e.WindDeg}
			if len(e.Weather) > 0 && e.Weather[0].Icon != "" {
				icon := e.Weather[0].Icon
				h.icon = &icon
			}
			rain := 0.0 // as the original: no rain entry means none fell
			if v, ok := e.Rain["1h"]; ok {
				rain = v
			}
			h.rain = &rain
			out = append(out, h)
		}
	}
	return out, nil
}

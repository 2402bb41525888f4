package weather

import (
	"context"
	"math"
	"net/url"
	"strconv"
	"time"

	"github.com/dtbase/dtbase"
)

// openMeteoResponse is the part of an Open-Meteo forecast answer we read.
// With timezone=UTC its times are UTC without an offset.
type openMeteoResponse struct {
	HourlyUnits map[string]string `json:"hourly_units"`
	Hourly      struct {
		Time          []string   `json:"time"`
		Temperature   []*float64 `json:"temperature_2m"`
		Humidity      []*float64 `json:"relative_humidity_2m"`
		Pressure      []*float64 `json:"surface_pressure"`
		WindSpeed     []*float64 `json:"wind_speed_10m"`
		WindDirection []*float64 `json:"wind_direction_10m"`
		Rain          []*float64 `json:"rain"`
		WeatherCode   []*float64 `json:"weather_code"`
		IsDay         []*float64 `json:"is_day"`
	} `json:"hourly"`
}

// fetchOpenMeteo asks Open-Meteo's forecast API for the hours of the
// window: past_days reaches back for history (the archive API lags by days,
// so recent history comes from here too), forecast_days ahead.
func (in *Ingress) fetchOpenMeteo(ctx context.Context, lat, lon float64, from, to, present time.Time, history bool) ([]hour, error) {
	base := in.OpenMeteoURL
	if base == "" {
		base = DefaultOpenMeteoURL
	}
	today := present.Truncate(24 * time.Hour)
	q := url.Values{}
	q.Set("latitude", strconv.FormatFloat(lat, 'f', -1, 64))
	q.Set("longitude", strconv.FormatFloat(lon, 'f', -1, 64))
	q.Set("hourly", openMeteoHourly)
	q.Set("timezone", "UTC")
	q.Set("wind_speed_unit", "ms")
	if history {
		q.Set("past_days", strconv.Itoa(daysCovering(today.Sub(from))))
		q.Set("forecast_days", "1")
	} else {
		q.Set("past_days", "0")
		q.Set("forecast_days", strconv.Itoa(max(1, daysCovering(to.Sub(today)))))
	}
	var r openMeteoResponse
	if err := in.getJSON(ctx, "Open-Meteo", base+"?"+q.Encode(), &r); err != nil {
		return nil, err
	}
	h := r.Hourly
	n := len(h.Time)
	for name, col := range map[string][]*float64{"temperature_2m": h.Temperature, "relative_humidity_2m": h.Humidity,
		"surface_pressure": h.Pressure, "wind_speed_10m": h.WindSpeed, "wind_direction_10m": h.WindDirection, "rain": h.Rain} {
		if len(col) != n {
			return nil, dtbase.Errorf(dtbase.EUNAVAILABLE, "Open-Meteo answered %d times but %d values of %s", n, len(col), name)
		}
	}
	// Open-Meteo reports wind in km/h unless asked otherwise; convert if a
	// mirror ignored wind_speed_unit.
	windFactor := 1.0
	if r.HourlyUnits["wind_speed_10m"] == "km/h" {
		windFactor = 1 / 3.6
	}
	out := make([]hour, 0, n)
	for i, s := range h.Time {
		t, err := time.Parse("2006-01-02T15:04", s)
		if err != nil {
			return nil, dtbase.Errorf(dtbase.EUNAVAILABLE, "Open-Meteo answered an unexpected time %q", s)
		}
		hr := hour{t: t.UTC(), temperature: h.Temperature[i], humidity: h.Humidity[i], pressure: h.Pressure[i],
			windDirection: h.WindDirection[i], rain: h.Rain[i]}
		if ws := h.WindSpeed[i]; ws != nil {
			v := *ws * windFactor
			hr.windSpeed = &v
		}
		if i < len(h.WeatherCode) && h.WeatherCode[i] != nil {
			day := true
			if i < len(h.IsDay) && h.IsDay[i] != nil {
				day = *h.IsDay[i] != 0
			}
			if icon, ok := wmoIcon(int(math.Round(*h.WeatherCode[i])), day); ok {
				hr.icon = &icon
			}
		}
		out = append(out, hr)
	}
	return out, nil
}

// daysCovering is the number of whole days that cover d.
func daysCovering(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int((d + 24*time.Hour - 1) / (24 * time.Hour))
}

// wmoIcon maps a WMO weather code to the OpenWeatherMap icon the original
// stored ("10d": rain by day), so both sources fill "icon" alike.
func wmoIcon(code int, day bool) (string, bool) {
	var icon string
	switch {
	case code == 0:
		icon = "01"
	case code == 1:
		icon = "02"
	case code == 2:
		icon = "03"
	case code == 3:
		icon = "04"
	case code == 45 || code == 48:
		icon = "50"
	case code >= 51 && code <= 57, code >= 80 && code <= 82:
		icon = "09"
	case code >= 61 && code <= 67:
		icon = "10"
	case code >= 71 && code <= 77, code == 85 || code == 86:
		icon = "13"
	case code >= 95 && code <= 99:
		icon = "11"
	default:
		return "", false
	}
	if day {
		return icon + "d", true
	}
	return icon + "n", true
}

package client

import (
	"context"
	"net/http"
)

// SensorTypeRetention is how many days the readings of a sensor type are
// kept; 0 for ever.
type SensorTypeRetention struct {
	Name          string `json:"name"`
	RetentionDays int    `json:"retention_days"`
}

// SetSensorTypeRetention sets how many days the readings of a sensor type
// are kept (0: for ever); nil returns the type to the server's default
// (/sensor/update-sensor-type-retention, admins only).
func (c *Client) SetSensorTypeRetention(ctx context.Context, typeName string, days *int) error {
	req := struct {
		Name          string `json:"name"`
		RetentionDays *int   `json:"retention_days"`
	}{typeName, days}
	return c.call(ctx, http.MethodPost, "/sensor/update-sensor-type-retention", req, http.StatusOK, nil)
}

// ListSensorTypeRetentions returns the sensor types with a retention of
// their own (/sensor/list-sensor-type-retentions).
func (c *Client) ListSensorTypeRetentions(ctx context.Context) ([]SensorTypeRetention, error) {
	return list[SensorTypeRetention](ctx, c, http.MethodGet, "/sensor/list-sensor-type-retentions", nil)
}

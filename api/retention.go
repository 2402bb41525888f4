package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/dtbase/dtbase"
)

type retentionRequest struct {
	Name string `json:"name" dt:"max=name"`
	// RetentionDays is how long readings of the type are kept, 0 for
	// ever; null follows the server's DT_READING_RETENTION_DAYS.
	RetentionDays *int `json:"retention_days" dt:"range=retention_days"`
}

type retentionOut struct {
	Name          string `json:"name"`
	RetentionDays int    `json:"retention_days"`
}

const retentionHelp = "Our extension. The elected replica deletes, once an hour, the readings of a type older than its " +
	"retention (on PostgreSQL by dropping monthly partitions when every type is past retention for a whole month). " +
	"Rollups outlive the readings: downsampled reads of older ranges still answer (docs/operations.md)."

func (s *Server) retentionRoutes() {
	handle(s, http.MethodPost, "/sensor/update-sensor-type-retention", dtbase.RoleAdmin, http.StatusOK,
		"Set how many days the readings of a sensor type are kept (0: for ever; null: the server's default)", s.updateRetention).description = retentionHelp
	handle(s, http.MethodGet, "/sensor/list-sensor-type-retentions", dtbase.RoleViewer, http.StatusOK,
		"List the sensor types with a retention of their own", s.listRetentions).description = retentionHelp
}

func (s *Server) updateRetention(ctx context.Context, req *retentionRequest) (detail, error) {
	if d := req.RetentionDays; d != nil && (*d < 0 || *d > dtbase.MaxRetentionDays) {
		return detail{}, invalidField([]any{"retention_days"}, fmt.Sprintf("retention_days must be between 0 and %d", dtbase.MaxRetentionDays), *d)
	}
	return done(s.store.SetSensorTypeRetention(ctx, req.Name, req.RetentionDays), "Retention set")
}

func (s *Server) listRetentions(ctx context.Context, _ *noBody) ([]retentionOut, error) {
	rs, err := s.store.ListSensorTypeRetentions(ctx)
	return each(rs, func(r dtbase.SensorTypeRetention) retentionOut {
		return retentionOut{r.SensorType, r.Days}
	}), err
}

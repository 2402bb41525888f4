package dtbase

// SensorStore keeps sensors.
type SensorStore interface {
}

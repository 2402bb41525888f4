package api

func (s *Server) sensorRoutes() {}

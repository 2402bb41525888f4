package api

func (s *Server) serviceRoutes() {}

package camera

func openV4L2URI(uri string) (Source, error) { return nil, ErrBadURI }
func openSPIURI(rest string) (Source, error) { return nil, ErrBadURI }

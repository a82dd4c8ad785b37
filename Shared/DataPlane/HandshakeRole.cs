namespace RnnCluster.DataPlane;

/// <summary>Which end opened the connection. It is part of each proof, so a proof cannot be reflected to its sender.</summary>
public enum HandshakeRole
{
    Initiator = 1,
    Responder = 2,
}

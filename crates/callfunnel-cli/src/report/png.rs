//! The charts as PNG: the same SVG documents, rendered with resvg.

use std::sync::Arc;

use resvg::{tiny_skia, usvg};

/// Pixels per SVG unit: the PNGs are drawn at twice the SVG size, for sharp text.
const PIXEL_RATIO: f32 = 2.0;

/// Why a chart could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum PngError {
    /// The SVG did not parse.
    #[error("the chart is not valid SVG: {0}")]
    Svg(#[from] usvg::Error),
    /// The chart has no area, or is too large to draw.
    #[error("the chart cannot be drawn at {width} × {height}")]
    Size {
        /// Width in SVG units.
        width: f32,
        /// Height in SVG units.
        height: f32,
    },
    /// PNG encoding failed.
    #[error("encoding the PNG: {0}")]
    Encode(String),
}

/// Renders SVG documents to PNG with a set of fonts, loaded once.
pub struct PngRenderer {
    options: usvg::Options<'static>,
}

impl PngRenderer {
    /// A renderer using the fonts installed on the system (text is drawn in
    /// DejaVu Sans when it is there, the charts' first choice).
    pub fn with_system_fonts() -> PngRenderer {
        let mut fonts = usvg::fontdb::Database::new();
        fonts.load_system_fonts();
        PngRenderer::with_fonts(fonts)
    }

    /// A renderer using the given fonts.
    pub fn with_fonts(fonts: usvg::fontdb::Database) -> PngRenderer {
        let options = usvg::Options {
            font_family: "DejaVu Sans".into(),
            fontdb: Arc::new(fonts),
            ..usvg::Options::default()
        };
        PngRenderer { options }
    }

    /// Whether any font was found; without one, the charts' text is not drawn.
    pub fn has_fonts(&self) -> bool {
        !self.options.fontdb.is_empty()
    }

    /// The PNG bytes of an SVG document.
    pub fn render(&self, svg: &str) -> Result<Vec<u8>, PngError> {
        let tree = usvg::Tree::from_str(svg, &self.options)?;
        let size = tree.size();
        let too_large = || PngError::Size {
            width: size.width(),
            height: size.height(),
        };
        let pixels = size
            .to_int_size()
            .scale_by(PIXEL_RATIO)
            .ok_or_else(too_large)?;
        let mut pixmap =
            tiny_skia::Pixmap::new(pixels.width(), pixels.height()).ok_or_else(too_large)?;
        resvg::render(
            &tree,
            tiny_skia::Transform::from_scale(PIXEL_RATIO, PIXEL_RATIO),
            &mut pixmap.as_mut(),
        );
        pixmap
            .encode_png()
            .map_err(|err| PngError::Encode(err.to_string()))
    }
}

//! The template of an import (`GET /imports/template`): a library's
//! writable columns, an example row, and drop-down lists for the enum columns.

use rust_xlsxwriter::{DataValidation, DataValidationErrorStyle, Format as XlsxFormat, Formula, Workbook, XlsxError};

use super::cells::{Column, Kind};
use super::libraries::Importable;
use super::Library;
use crate::error::ApiError;
use crate::exchange::refs;

/// The column that makes re-imports idempotent: the key the park's own
/// ledger gives the record (its 台账编号).
pub const EXTERNAL_REF: Column = Column::new("external_ref", refs::HEADER, Kind::Text);

/// The template of a library: its writable columns' Chinese headers, then
/// 外部编号; one example row; and a drop-down of the Chinese labels on every
/// enum column (on a column of several values it offers one; more may be
/// typed, separated by `;`).
pub fn workbook<I: Importable>() -> Result<Vec<u8>, ApiError> {
    let columns: Vec<&Column> = I::COLUMNS.iter().filter(|c| !matches!(c.kind, Kind::Ignored)).chain([&EXTERNAL_REF]).collect();
    build(I::LIBRARY, &columns, I::EXAMPLE).map_err(|e| ApiError::internal(format!("writing the template: {e}")))
}

/// Rows of the template that get a drop-down (an empty ledger grows down).
const TEMPLATE_ROWS: u32 = 10_000;

fn build(library: Library, columns: &[&Column], example: &[(&str, &str)]) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let bold = XlsxFormat::new().set_bold();
    let sheet = workbook.add_worksheet();
    sheet.set_name(library.sheet())?;
    // Drop-down values live on a second sheet: a list typed into the
    // validation itself is capped at 255 characters.
    let mut lists = OptionsSheet::default();
    for (c, column) in columns.iter().enumerate() {
        let c = c as u16;
        sheet.write_string_with_format(0, c, column.zh, &bold)?;
        sheet.set_column_width(c, 16)?;
        if let Some((_, text)) = example.iter().find(|(field, _)| *field == column.field) {
            sheet.write_string(1, c, *text)?;
        }
        let labels = match column.kind {
            Kind::Enum(labels) | Kind::EnumList(labels) => labels(),
            _ => continue,
        };
        let range = lists.add(column.field, labels.iter().map(|l| l.zh));
        let validation = DataValidation::new()
            .allow_list_formula(Formula::new(range))
            .set_error_title("不在选项内")?
            .set_error_message("请从下拉列表中选择，或填写代码（GET /meta/enums）")?
            // A warning, not a stop: a code typed in is as good as the label.
            .set_error_style(DataValidationErrorStyle::Warning);
        sheet.add_data_validation(1, c, TEMPLATE_ROWS, c, &validation)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    let options = workbook.add_worksheet();
    options.set_name("选项")?;
    for (c, (field, values)) in lists.columns.iter().enumerate() {
        options.write_string_with_format(0, c as u16, *field, &bold)?;
        for (r, value) in values.iter().enumerate() {
            options.write_string(r as u32 + 1, c as u16, *value)?;
        }
    }
    options.set_hidden(true);
    workbook.save_to_buffer()
}

/// The hidden sheet of drop-down values: a column per enum field.
#[derive(Default)]
struct OptionsSheet {
    columns: Vec<(&'static str, Vec<&'static str>)>,
}

impl OptionsSheet {
    /// Adds a column of values; answers the range a validation refers to.
    fn add(&mut self, field: &'static str, values: impl Iterator<Item = &'static str>) -> String {
        let values: Vec<&'static str> = values.collect();
        let letter = column_letter(self.columns.len());
        let range = format!("=选项!${letter}$2:${letter}${}", values.len() + 1);
        self.columns.push((field, values));
        range
    }
}

/// `A`, `B`, … `Z`, `AA`: the spreadsheet name of column `index` (from 0).
fn column_letter(mut index: usize) -> String {
    let mut name = Vec::new();
    loop {
        name.push(b'A' + (index % 26) as u8);
        if index < 26 {
            break;
        }
        index = index / 26 - 1;
    }
    name.reverse();
    String::from_utf8_lossy(&name).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
    }

    #[test]
    fn every_export_header_is_an_import_column() {
        use crate::exchange::Exportable;
        fn check<R: Importable + Exportable>() {
            for header in <R as Exportable>::COLUMNS {
                assert!(<R as Importable>::COLUMNS.iter().any(|c| c.zh == *header), "{header} of {}", <R as Exportable>::LIBRARY);
            }
        }
        check::<crate::projects::Project>();
        check::<crate::investors::Investor>();
        check::<crate::talents::Talent>();
    }
}
